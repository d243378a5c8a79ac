import { readFileSync } from 'node:fs';

/** Where a sampled server spent its CPU, as shares of the non-idle samples. */
export interface ProfileSummary {
  /** Samples inside the measured window (start-up and shutdown are left out). */
  readonly samples: number;
  /** Milliseconds of CPU samples in the window. */
  readonly sampledMs: number;
  /** Self time by area (package, our source folder, GC, native). */
  readonly selfByArea: ReadonlyArray<{ area: string; share: number }>;
  /** Inclusive time by area: a sample counts once for every area on its stack. */
  readonly inclusiveByArea: ReadonlyArray<{ area: string; share: number }>;
  /** The hottest functions by self time. */
  readonly topFunctions: ReadonlyArray<{ fn: string; share: number }>;
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A time window on the monotonic clock, in microseconds (`process.hrtime.bigint() / 1000n`). */
export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

/**
 * The area a frame belongs to: `fastify`, `kysely`, `better-sqlite3`, `pg` … for packages;
 * `scimitar:<folder>` for our compiled code (`dist/store/…` → `scimitar:store`); `node:<module>`
 * for Node internals; `(gc)`, `(program)`, `(idle)`; and `native` for V8 builtins and addons.
 */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(program)' || functionName === '(idle)' || functionName === '(root)') return functionName;
    return 'native (builtins, addons)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/dist\/([^/]+)\//.exec(url);
  if (ours) return `scimitar:${ours[1]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.replace(/^file:\/\//, '');
}

function label(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/dist\//, 'dist/').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
}

/**
 * Reads a `.cpuprofile` (Node's `--cpu-prof` output) and sums it by area and by function, counting
 * only samples inside `window`: V8 stamps samples with the same monotonic clock as
 * `process.hrtime`, so the harness can cut away the server's start-up and shutdown.
 */
export function summariseProfile(file: string, window?: Window, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Weight each sample by the time until the next one (Chrome DevTools does the same).
  const weight = (i: number) => profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
  let busy = 0;
  let counted = 0;
  let at = profile.startTime;
  const self = new Map<string, number>();
  const fns = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const w = weight(i);
    const area = areaOf(node.callFrame);
    if (area === '(idle)') continue;
    counted++;
    busy += w;
    self.set(area, (self.get(area) ?? 0) + w);
    const fn = label(node.callFrame);
    fns.set(fn, (fns.get(fn) ?? 0) + w);
    const onStack = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === '(root)') break;
      onStack.add(areaOf(frame));
    }
    for (const a of onStack) inclusive.set(a, (inclusive.get(a) ?? 0) + w);
  }
  const shares = (m: Map<string, number>, limit: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key, value]) => ({ key, share: busy > 0 ? value / busy : 0 }));
  return {
    samples: counted,
    sampledMs: busy / 1000,
    selfByArea: shares(self, 14).map(({ key, share }) => ({ area: key, share })),
    inclusiveByArea: shares(inclusive, 14).map(({ key, share }) => ({ area: key, share })),
    topFunctions: shares(fns, top).map(({ key, share }) => ({ fn: key, share })),
  };
}
