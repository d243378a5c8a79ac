/** Time is passed in, never read ad hoc, so tests and time travel can pin it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
