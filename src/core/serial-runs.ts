/**
 * Runs `task(key)` at most once at a time per key (a tenant's catch-up from its change log). A
 * caller that arrives while a run is in progress may have committed something that run already
 * read past, so it gets the next run, which every such caller shares; one run, not one per caller.
 * A failed run fails its callers only: the next caller starts afresh.
 */
export function serialRuns<T>(task: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const states = new Map<string, { running?: Promise<T>; queued?: Promise<T> }>();
  return (key) => {
    let s = states.get(key);
    if (!s) states.set(key, (s = {}));
    const state = s;
    const start = (): Promise<T> => {
      const run = task(key);
      state.running = run;
      const forget = () => {
        if (state.running === run) state.running = undefined;
      };
      run.then(forget, forget);
      return run;
    };
    if (state.queued) return state.queued;
    if (!state.running) return start();
    state.queued = state.running
      .catch(() => undefined)
      .then(() => {
        state.queued = undefined;
        return start();
      });
    return state.queued;
  };
}
