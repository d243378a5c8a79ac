import { setImmediate } from 'node:timers/promises';
import { AccessDeriver } from '../audit/access-diff.js';
import { HistoryState } from '../audit/replay.js';
import { TenantIndex } from '../authz/tenant-index.js';
import { AppError } from '../core/errors.js';
import { serialRuns } from '../core/serial-runs.js';
import type { AccessChangeRecord, Store } from '../store/store.js';
import type { PastIndexes } from './access.js';

/**
 * The tenant as it was at any revision the log still holds (time travel), and the deriver that
 * turns each write into the access changes it caused. Both rebuild state from the change log alone
 * (`audit/replay.ts`), starting from the newest history snapshot before the revision asked for.
 */
export interface History extends PastIndexes {
  /** The permission index as of `revision`; `invalid_value` before the retention horizon or after the head. */
  indexAt(tenantId: string, revision: number): Promise<TenantIndex>;
  /** The last revision written at or before `time`. */
  revisionAt(tenantId: string, time: Date): Promise<number>;
  /**
   * Derives the access changes of every entry not yet derived, and returns the revision reached.
   * Safe to run from several processes: the `derive` cursor moves with the rows, and a batch
   * another process derived first is dropped.
   */
  derive(tenantId: string): Promise<number>;
  /** The encoded state at `revision`, for a retention seal to keep in place of the entries it removes. */
  sealState(tenantId: string, revision: number): Promise<Uint8Array>;
}

export interface HistoryOptions {
  readonly store: Store;
  /** The deriver stores a history snapshot each time it passes a multiple of this, so replays stay short. */
  readonly snapshotEvery?: number;
  /** Past indexes kept built: time-travel queries come in runs over nearby revisions. */
  readonly cacheSize?: number;
}

/**
 * Lets requests waiting on the event loop run between pages of a long replay or derivation. SQLite
 * answers synchronously, so without it a cold time-travel query or a catch-up over many entries
 * would hold every other request (a SCIM write, a check) until it ends.
 */
const letOthersRun = () => setImmediate();

/** Entries read per page of a replay. */
const REPLAY_PAGE = 1000;
/** Entries derived per `recordDerived` transaction. */
const DERIVE_BATCH = 500;

interface Built {
  /** INVARIANT: never applied to again; replays forward from it start from a copy. */
  readonly state: HistoryState;
  readonly index: TenantIndex;
}

interface Past {
  readonly tenantId: string;
  readonly revision: number;
  readonly built: Promise<Built>;
  /** Set once built: only a finished state can be replayed from (one being built may be waiting on this very replay). */
  done?: Built;
}

/**
 * @example
 *   const history = createHistory({ store });
 *   const then = await history.indexAt(tenantId, await history.revisionAt(tenantId, new Date('2026-03-01T00:00:00Z')));
 */
export function createHistory(options: HistoryOptions): History {
  const { store } = options;
  const { audit } = store;
  const snapshotEvery = options.snapshotEvery ?? 10_000;
  const cacheSize = options.cacheSize ?? 4;
  /** Least recently used first. */
  const cache = new Map<string, Past>();
  /** Kept between runs, so a deriver that keeps up applies each entry once and rebuilds nothing. */
  const derivers = new Map<string, AccessDeriver>();

  /** A state of its own (the caller may apply to it) at `revision`, from the nearest cached state or snapshot before it. */
  async function stateAt(tenantId: string, revision: number): Promise<HistoryState> {
    if (!Number.isSafeInteger(revision) || revision < 0) throw new AppError('invalid_value', `revision \`${revision}\` is not a valid revision`);
    const head = await audit.head(tenantId);
    if (revision > head.revision) {
      throw new AppError('invalid_value', `revision \`${revision}\` has not been written yet: the latest is ${head.revision}`);
    }
    const cached = nearestCached(tenantId, revision);
    const snapshot = await audit.snapshotAtOrBefore(tenantId, revision);
    let state: HistoryState;
    if (cached?.done && cached.revision >= (snapshot?.revision ?? 0)) {
      state = cached.done.state.clone();
    } else if (snapshot) {
      state = HistoryState.decode(snapshot.state);
    } else {
      // No snapshot: the log must still start at revision 1 (a seal leaves one in place of what it removed).
      const [first] = await audit.entries(tenantId, { limit: 1 });
      if (head.revision > 0 && first?.revision !== 1) {
        throw beforeHorizon(revision, first ? first.revision - 1 : head.revision);
      }
      state = HistoryState.empty();
    }
    while (state.revision < revision) {
      const page = await audit.entries(tenantId, { afterRevision: state.revision, untilRevision: revision, limit: REPLAY_PAGE });
      if (page.length === 0) throw new AppError('internal', `the change log of tenant \`${tenantId}\` has no revision ${state.revision + 1}`);
      for (const entry of page) state.apply(entry);
      await letOthersRun();
    }
    return state;
  }

  function nearestCached(tenantId: string, revision: number): Past | undefined {
    let best: Past | undefined;
    for (const past of cache.values()) {
      if (past.done && past.tenantId === tenantId && past.revision <= revision && (!best || past.revision > best.revision)) best = past;
    }
    return best;
  }

  async function indexAt(tenantId: string, revision: number): Promise<TenantIndex> {
    // Asked every time: a seal (of this node or another) may have moved the horizon past a cached state.
    const seal = await audit.latestSeal(tenantId);
    if (seal && revision < seal.revision) throw beforeHorizon(revision, seal.revision);
    const key = `${tenantId}\u0000${revision}`;
    let past = cache.get(key);
    if (past) {
      cache.delete(key);
    } else {
      const built = stateAt(tenantId, revision).then(async (state) => {
        await letOthersRun();
        return { state, index: TenantIndex.build(state.toSnapshot()) };
      });
      const entry: Past = { tenantId, revision, built };
      built.then(
        (done) => (entry.done = done),
        // A failed build is forgotten, so the next call tries again.
        () => {
          if (cache.get(key) === entry) cache.delete(key);
        },
      );
      past = entry;
    }
    cache.set(key, past);
    while (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return past.built.then(({ index }) => index);
  }

  async function deriveAll(tenantId: string): Promise<number> {
    for (;;) {
      const from = Number((await audit.cursor(tenantId, 'derive')) ?? 0);
      let deriver = derivers.get(tenantId);
      if (deriver?.revision !== from) {
        deriver = AccessDeriver.start(await stateAt(tenantId, from));
        derivers.set(tenantId, deriver);
      }
      const entries = await audit.entries(tenantId, { afterRevision: from, limit: DERIVE_BATCH });
      if (entries.length === 0) return from;
      const rows: AccessChangeRecord[] = [];
      try {
        for (const entry of entries) rows.push(...deriver.apply(entry));
      } catch (err) {
        // Half a batch applied leaves the deriver ahead of the cursor: rebuild it next time.
        derivers.delete(tenantId);
        throw err;
      }
      const to = deriver.revision;
      const snapshot = Math.floor(to / snapshotEvery) > Math.floor(from / snapshotEvery) ? { revision: to, state: deriver.state.encode() } : undefined;
      if (!(await audit.recordDerived(tenantId, from, to, rows, snapshot))) {
        // Another process derived these first: its rows stand, and the next round restores from its cursor.
        derivers.delete(tenantId);
        continue;
      }
      if (entries.length < DERIVE_BATCH) return to;
      await letOthersRun();
    }
  }

  /** One run per tenant at a time; callers that arrive during one share the next (they may have committed since it read). */
  const derive = serialRuns(deriveAll);

  return {
    indexAt,
    revisionAt: (tenantId, time) => audit.revisionAt(tenantId, time.toISOString()),
    derive,
    async sealState(tenantId, revision) {
      return (await stateAt(tenantId, revision)).encode();
    },
  };
}

function beforeHorizon(revision: number, start: number): AppError {
  return new AppError('invalid_value', `revision \`${revision}\` is before the retention horizon: the history starts at revision ${start}`);
}
