import { describe, expect, it } from 'vitest';
import { serialRuns } from './serial-runs.js';

describe('serialRuns', () => {
  it('runs one task per key at a time, and callers arriving during a run share exactly one next run', async () => {
    const started: string[] = [];
    let active = 0;
    let most = 0;
    const run = serialRuns(async (key) => {
      started.push(key);
      active += 1;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 10));
      active -= 1;
      return started.length;
    });
    const first = run('a');
    const late = [run('a'), run('a'), run('a')];
    const other = run('b');
    expect(await first).toBe(2);
    const answers = await Promise.all(late);
    // The three late callers share the second run of `a`, which started after the first ended.
    expect(new Set(answers).size).toBe(1);
    await other;
    expect(started).toEqual(['a', 'b', 'a']);
    // Other keys run side by side.
    expect(most).toBe(2);
  });

  it('fails only the callers of the failed run; the next caller starts afresh', async () => {
    let calls = 0;
    const run = serialRuns(async () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      return calls;
    });
    await expect(run('k')).rejects.toThrow('boom');
    expect(await run('k')).toBe(2);
  });
});
