import autocannon from 'autocannon';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { stats, type LatencyStats } from '../scim/load.js';

export interface HttpRun {
  readonly title: string;
  readonly connections: number;
  readonly seconds: number;
  readonly responses: number;
  /** 200 responses. */
  readonly ok: number;
  readonly other: number;
  readonly errors: number;
  /** `ok / seconds`. */
  readonly rps: number;
  /** Milliseconds, per response, from autocannon's hrtime timer (not its 1 ms histogram). */
  readonly latency: LatencyStats;
  readonly load1: number;
}

export interface HammerSpec {
  readonly title: string;
  readonly baseUrl: string;
  readonly path: string;
  readonly token: string;
  /** Request bodies, sent in turn. */
  readonly bodies: readonly string[];
  readonly connections: number;
  readonly seconds: number;
}

/** One stretch of load: counts and every latency, to be merged with the other stretches of a phase. */
export interface Stretch {
  readonly seconds: number;
  readonly ok: number;
  readonly other: number;
  readonly errors: number;
  readonly latencies: number[];
}

/** Merges the stretches of one phase (e.g. the rounds that alternated with another server). */
export function combine(title: string, connections: number, stretches: readonly Stretch[]): HttpRun {
  const seconds = stretches.reduce((s, x) => s + x.seconds, 0);
  const ok = stretches.reduce((s, x) => s + x.ok, 0);
  const latencies = stretches.flatMap((x) => x.latencies);
  return {
    title,
    connections,
    seconds,
    responses: latencies.length,
    ok,
    other: stretches.reduce((s, x) => s + x.other, 0),
    errors: stretches.reduce((s, x) => s + x.errors, 0),
    rps: ok / seconds,
    latency: stats(latencies),
    load1: loadavg()[0] ?? NaN,
  };
}

/**
 * POSTs the bodies in turn over `connections` keep-alive connections for `seconds`. autocannon runs
 * in this process (the servers run in their own), so its cost is the same against every server.
 */
export function hammer(spec: HammerSpec): Promise<Stretch> {
  const url = new URL(spec.baseUrl);
  const auth = `Bearer ${spec.token}`;
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let other = 0;
  let errors = 0;
  const request: autocannon.Request = {
    setupRequest: () => ({
      method: 'POST',
      path: spec.path,
      // A fresh headers object each time: autocannon writes Content-Length into it.
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: spec.bodies[next++ % spec.bodies.length]!,
    }),
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let last = started;
    const instance = autocannon(
      { url: url.origin, connections: spec.connections, duration: spec.seconds, timeout: 60, requests: [request], title: spec.title },
      (err) => {
        if (err) reject(err);
        else resolve({ seconds: (last - started) / 1000, ok, other, errors, latencies });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      last = performance.now();
      if (status === 200) ok++;
      else other++;
    });
    instance.on('reqError', () => {
      errors++;
    });
  });
}

/** One POST with a JSON body over a fresh connection; for checks outside the timed phases. */
export async function postJson(baseUrl: string, path: string, token: string, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, text: await response.text() };
}
