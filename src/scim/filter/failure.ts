import { AppError, type ErrorCode, type Result } from '../../core/errors.js';

/**
 * A rejection raised deep inside the recursive lexer, parser or resolver. Throwing it keeps those
 * functions small; `attempt` is the only place that catches it, so no public function throws.
 */
export class Rejection extends Error {
  constructor(
    /** Lowercase, no trailing period, user input in backticks. */
    readonly detail: string,
    /** 0-based offset (UTF-16 code units) into the parsed text, when there is text. */
    readonly position?: number,
  ) {
    super(detail);
    this.name = 'Rejection';
  }
}

/** Runs `fn`, turning a `Rejection` into `{ ok: false }` with `code`; any other throw is a bug and propagates. */
export function attempt<T>(code: ErrorCode, fn: () => T): Result<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (!(err instanceof Rejection)) throw err;
    const detail = err.position === undefined ? err.detail : `position ${err.position}: ${err.detail}`;
    return { ok: false, error: new AppError(code, detail) };
  }
}
