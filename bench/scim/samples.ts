/**
 * Real responses captured from the first store measured, replayed byte for byte by the
 * bare-Fastify ceiling (`ceiling-server.ts`) so both answer the same mix with bodies of the same size.
 */
export interface Samples {
  createUser: string;
  userLocation: string;
  createGroup: string;
  groupLocation: string;
  eqFilter: string;
  coFilter: string;
  /** A full page of a `startIndex` walk. */
  indexPage: string;
  /** A full page of a cursor walk, with its `nextCursor`. */
  cursorPage: string;
  patchUser: string;
  patchGroupStatus: number;
  patchGroup: string;
  bulk: string;
}

/** Collects the first sample of each kind; `complete()` says when the ceiling can be built. */
export class SampleRecorder {
  private readonly seen: Partial<Samples> = {};

  /** Keeps `value` unless a sample of this kind is already stored. */
  offer<K extends keyof Samples>(key: K, value: Samples[K]): void {
    if (this.seen[key] === undefined) this.seen[key] = value;
  }

  has(key: keyof Samples): boolean {
    return this.seen[key] !== undefined;
  }

  missing(): string[] {
    const keys: (keyof Samples)[] = [
      'createUser', 'userLocation', 'createGroup', 'groupLocation', 'eqFilter', 'coFilter', 'indexPage', 'cursorPage',
      'patchUser', 'patchGroupStatus', 'patchGroup', 'bulk',
    ];
    return keys.filter((k) => this.seen[k] === undefined);
  }

  complete(): Samples | undefined {
    return this.missing().length === 0 ? (this.seen as Samples) : undefined;
  }

  /** Byte sizes, for the report: the ceiling's responses are these sizes. */
  sizes(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.seen)
        .filter((e): e is [string, string] => typeof e[1] === 'string')
        .map(([k, v]) => [k, Buffer.byteLength(v)]),
    );
  }
}
