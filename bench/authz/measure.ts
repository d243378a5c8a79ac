/**
 * In-process timing of one engine over the request mix.
 *
 * - Throughput: `process.hrtime.bigint()` read around batches of 1,000 calls, nothing else inside
 *   the batch; checks/s = calls / the sum of the batch times, and the mean per call from the same
 *   figure. The median of three passes over the mix (after one untimed warm-up pass) is kept.
 * - Latency distribution: each call timed alone, between two `process.hrtime.bigint()` reads. The
 *   clock read costs about as much as a fast check (~70–100 ns here), so the median cost of an empty
 *   timed region (same loop, a function that returns a constant) is measured just before and
 *   subtracted from every sample; p50 and p99 are of these net figures.
 * - Engines slower than ~10 µs a call (the peers) are timed on a prefix of the mix that fits a time
 *   budget, in one pass that gives both figures (the clock is then under 1% of a call).
 */
import { performance } from 'node:perf_hooks';

/**
 * A full GC before each engine, so one engine's garbage (or the index build's) is not collected
 * inside the next one's timing. `run.ts` starts itself again with `--expose-gc` when it lacks it.
 */
const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

export interface EngineRun {
  readonly name: string;
  /** Calls measured (a prefix of the mix for slow engines). */
  readonly calls: number;
  readonly checksPerSecond: number;
  /** Nanoseconds, from the batch timing. */
  readonly meanNs: number;
  /** Nanoseconds, single-call timing net of the clock. */
  readonly p50Ns: number;
  readonly p90Ns: number;
  readonly p99Ns: number;
  readonly maxNs: number;
  /** The median cost of an empty timed region that was subtracted, ns. */
  readonly clockNs: number;
  readonly method: 'batches + single calls' | 'single calls (slow engine, one pass)';
  /** The answers, 1 = allow, in mix order, for the `calls` first requests. */
  readonly answers: Uint8Array;
}

const BATCH = 1000;

/** Median cost of an empty timed region, ns. */
function clockCost(samples = 200_000): number {
  const empty = (i: number) => i < 0;
  const lat = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    empty(i);
    lat[i] = Number(process.hrtime.bigint() - t0);
  }
  return percentile(lat.sort(), 0.5);
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * Measures `call(i)` for i in [0, n). `budgetSeconds` bounds slow engines: a warm-up of 200 calls
 * estimates the cost, and if it is over 10 µs only as many calls as fit the budget are made.
 */
export function measureEngine(name: string, n: number, call: (i: number) => boolean, budgetSeconds: number): EngineRun {
  const warm = Math.min(n, 200);
  const t0 = performance.now();
  for (let i = 0; i < warm; i++) call(i);
  const estimateUs = ((performance.now() - t0) * 1000) / Math.max(1, warm);
  // No forced GC around the slow engines: they cost milliseconds a call, and a forced full GC
  // next to Cedar's WebAssembly crashes Node 20's V8 (a deoptimizer `unreachable code`).
  if (estimateUs > 10) return slowEngine(name, Math.max(warm, Math.min(n, Math.floor((budgetSeconds * 1e6) / estimateUs))), call);
  collect();

  for (let i = 0; i < n; i++) call(i); // warm-up pass: JIT, caches
  collect();
  const answers = new Uint8Array(n);
  const passes: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    let total = 0n;
    for (let from = 0; from < n; from += BATCH) {
      const to = Math.min(n, from + BATCH);
      const start = process.hrtime.bigint();
      for (let i = from; i < to; i++) answers[i] = call(i) ? 1 : 0;
      total += process.hrtime.bigint() - start;
    }
    passes.push(Number(total));
  }
  passes.sort((a, b) => a - b);
  const totalNs = passes[1]!;

  const clockNs = clockCost();
  collect();
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    call(i);
    lat[i] = Number(process.hrtime.bigint() - start) - clockNs;
  }
  lat.sort();
  return {
    name,
    calls: n,
    checksPerSecond: n / (totalNs / 1e9),
    meanNs: totalNs / n,
    p50Ns: Math.max(0, percentile(lat, 0.5)),
    p90Ns: Math.max(0, percentile(lat, 0.9)),
    p99Ns: Math.max(0, percentile(lat, 0.99)),
    maxNs: lat[lat.length - 1]!,
    clockNs,
    method: 'batches + single calls',
    answers,
  };
}

function slowEngine(name: string, n: number, call: (i: number) => boolean): EngineRun {
  const clockNs = clockCost(20_000);
  const answers = new Uint8Array(n);
  const lat = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    answers[i] = call(i) ? 1 : 0;
    const ns = Number(process.hrtime.bigint() - start);
    total += ns;
    lat[i] = ns - clockNs;
  }
  lat.sort();
  return {
    name,
    calls: n,
    checksPerSecond: n / (total / 1e9),
    meanNs: total / n,
    p50Ns: percentile(lat, 0.5),
    p90Ns: percentile(lat, 0.9),
    p99Ns: percentile(lat, 0.99),
    maxNs: lat[lat.length - 1]!,
    clockNs,
    method: 'single calls (slow engine, one pass)',
    answers,
  };
}

/** Positions where `run` answers differently from `reference` (over the calls `run` made). */
export function mismatches(reference: Uint8Array, run: EngineRun): number[] {
  const out: number[] = [];
  for (let i = 0; i < run.calls; i++) if (reference[i] !== run.answers[i]) out.push(i);
  return out;
}
