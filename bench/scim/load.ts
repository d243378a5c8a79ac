import autocannon from 'autocannon';
import { Agent, request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One request of a load phase; `body` is sent as `application/scim+json`. */
export interface LoadRequest {
  readonly method: Method;
  readonly path: string;
  readonly body?: string;
}

/** The first response that was not what the phase expects, kept to report the server bug. */
export interface Failure {
  readonly request: string;
  readonly status: number;
  readonly body: string;
}

export interface LatencyStats {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface LoadResult {
  readonly title: string;
  readonly connections: number;
  /** Responses received in the measured window. */
  readonly responses: number;
  /** Responses with the expected status (and, when checked, body). */
  readonly ok: number;
  readonly failed: number;
  /** Connection errors and timeouts (no response at all). */
  readonly errors: number;
  readonly seconds: number;
  /** `ok / seconds`. */
  readonly rps: number;
  /** Milliseconds, over all responses, from autocannon's per-request timer (sub-millisecond precision). */
  readonly latency: LatencyStats;
  readonly statuses: Readonly<Record<string, number>>;
  readonly firstFailure?: Failure;
  /** Stopped by the hard time limit before `amount` was reached. */
  readonly truncated: boolean;
  /** The machine's 1-minute load average when the phase ended (the machine is shared). */
  readonly load1: number;
}

export interface LoadSpec {
  readonly title: string;
  readonly baseUrl: string;
  readonly token: string;
  readonly connections: number;
  /** Exactly this many requests … */
  readonly amount?: number;
  /** … or as many as fit in this many seconds. */
  readonly seconds?: number;
  /** Builds request `i` (counted across all connections, from 0). */
  readonly next: (i: number) => LoadRequest;
  /** Whether a response is what the phase expects. */
  readonly accept: (status: number, body: string) => boolean;
  /** Called with every accepted response (e.g. to collect the ids of created users). */
  readonly onAccepted?: (i: number, body: string, headers: Record<string, string | string[]>) => void;
  /** Hard stop, seconds. */
  readonly maxSeconds: number;
  /** Progress line every this many seconds on stderr (0: none). */
  readonly progressEvery?: number;
}

/**
 * Drives one phase with autocannon (in this process, so its CPU cost is the same for the real
 * server and the bare-Fastify ceiling). Latencies are collected from autocannon's `response`
 * event, which carries the hrtime duration, rather than from its histogram, whose resolution is
 * 1 ms: a p99 target of 5 ms needs better.
 */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.baseUrl);
  const amount = spec.amount;
  const connections = amount !== undefined ? Math.max(1, Math.min(spec.connections, amount)) : spec.connections;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let counter = 0;
  let ok = 0;
  let failed = 0;
  let errors = 0;
  let firstFailure: Failure | undefined;
  let truncated = false;
  let lastResponseAt = 0;

  const auth = `Bearer ${spec.token}`;
  const request: autocannon.Request = {
    setupRequest: (_data, context) => {
      const i = counter++;
      const r = spec.next(i);
      context['i'] = i;
      context['r'] = r;
      // A fresh headers object each time: autocannon writes Content-Length into it.
      const headers: Record<string, string> = { authorization: auth, accept: 'application/scim+json' };
      if (r.body !== undefined) headers['content-type'] = 'application/scim+json';
      return r.body !== undefined
        ? { method: r.method, path: r.path, headers, body: r.body }
        : { method: r.method, path: r.path, headers };
    },
    onResponse: (status, body, context, headers) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (spec.accept(status, body)) {
        ok++;
        spec.onAccepted?.(context['i'] as number, body, headers);
        return;
      }
      failed++;
      if (!firstFailure) {
        const r = context['r'] as LoadRequest;
        firstFailure = {
          request: `${r.method} ${r.path}${r.body !== undefined ? ` ${clip(r.body, 600)}` : ''}`,
          status,
          body: clip(body, 2000),
        };
      }
    },
  };

  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: url.origin,
        connections,
        ...(amount !== undefined ? { amount } : { duration: spec.seconds ?? 10 }),
        timeout: 120,
        requests: [request],
        title: spec.title,
      },
      (err) => {
        clearTimeout(hardStop);
        clearInterval(progress);
        if (err) {
          reject(err);
          return;
        }
        // From the first request to the last response: autocannon notices the end of an `amount`
        // run only on its 1-second tick, which would round short phases up to whole seconds.
        const seconds = ((lastResponseAt > started ? lastResponseAt : performance.now()) - started) / 1000;
        resolve({
          title: spec.title,
          connections,
          responses: latencies.length,
          ok,
          failed,
          errors,
          seconds,
          rps: ok / seconds,
          latency: stats(latencies),
          statuses,
          ...(firstFailure ? { firstFailure } : {}),
          truncated,
          load1: loadavg()[0] ?? NaN,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      lastResponseAt = performance.now();
    });
    instance.on('reqError', () => {
      errors++;
    });
    const hardStop = setTimeout(() => {
      truncated = true;
      instance.stop();
    }, spec.maxSeconds * 1000);
    const every = spec.progressEvery ?? 0;
    const progress = setInterval(
      () => {
        const s = (performance.now() - started) / 1000;
        const of = amount !== undefined ? `/${amount.toLocaleString('en-US')}` : '';
        log(`  ${spec.title}: ${latencies.length.toLocaleString('en-US')}${of} responses, ${Math.round(ok / s)}/s`);
      },
      every > 0 ? every * 1000 : 2 ** 30,
    );
  });
}

/** Exact percentiles (nearest rank) of a list of milliseconds. */
export function stats(values: readonly number[]): LatencyStats {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1]!, mean: sum / sorted.length };
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly ms: number;
}

/**
 * A keep-alive `node:http` client for the sequential parts (page walks, one-shot PATCH and Bulk,
 * probes): one socket, reused, so each walk measures the server and not connection setup.
 */
export function createClient(baseUrl: string, token: string) {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  function send(method: Method, path: string, body?: string, timeoutMs = 120_000): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/scim+json' };
      if (body !== undefined) {
        headers['content-type'] = 'application/scim+json';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      const req = httpRequest(
        { host: url.hostname, port: url.port, method, path, headers, agent, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              ms: performance.now() - started,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no response in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
  return {
    send,
    close: () => agent.destroy(),
  };
}

export type Client = ReturnType<typeof createClient>;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length.toLocaleString('en-US')} chars)`;
}

/** Progress goes to stderr, stamped with the time since the run started. */
const t0 = performance.now();
export function log(message: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(7);
  process.stderr.write(`[${s}s] ${message}\n`);
}
