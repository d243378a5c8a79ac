/**
 * The one error type of the core. Every layer throws `AppError`; exactly one place
 * (`http/error-mapper.ts`) turns it into an RFC 7644 §3.12 error body.
 *
 * `detail` is shown to clients: lowercase, no trailing period, user input in backticks.
 * `cause` never leaves the process.
 */
export type ErrorCode =
  | 'invalid_syntax'
  | 'invalid_filter'
  | 'invalid_path'
  | 'invalid_value'
  | 'invalid_cursor'
  | 'invalid_version'
  | 'too_many'
  | 'mutability'
  | 'no_target'
  | 'uniqueness'
  | 'in_use'
  | 'sensitive'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'method_not_allowed'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_implemented'
  | 'internal';

interface CodeInfo {
  readonly status: number;
  /** RFC 7644 §3.12 Table 9 (and RFC 9865 for cursors); only 400 and 409 errors carry one. */
  readonly scimType?: string;
}

export const ERROR_CODES: Readonly<Record<ErrorCode, CodeInfo>> = {
  invalid_syntax: { status: 400, scimType: 'invalidSyntax' },
  invalid_filter: { status: 400, scimType: 'invalidFilter' },
  invalid_path: { status: 400, scimType: 'invalidPath' },
  invalid_value: { status: 400, scimType: 'invalidValue' },
  invalid_cursor: { status: 400, scimType: 'invalidCursor' },
  invalid_version: { status: 400, scimType: 'invalidVers' },
  too_many: { status: 400, scimType: 'tooMany' },
  mutability: { status: 400, scimType: 'mutability' },
  no_target: { status: 400, scimType: 'noTarget' },
  sensitive: { status: 403, scimType: 'sensitive' },
  uniqueness: { status: 409, scimType: 'uniqueness' },
  in_use: { status: 409 },
  not_found: { status: 404 },
  unauthorized: { status: 401 },
  forbidden: { status: 403 },
  method_not_allowed: { status: 405 },
  precondition_failed: { status: 412 },
  payload_too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  not_implemented: { status: 501 },
  internal: { status: 500 },
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;

  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'AppError';
    this.code = code;
    this.detail = detail;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get scimType(): string | undefined {
    return ERROR_CODES[this.code].scimType;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Parsers return this instead of throwing, so callers decide how a failure surfaces. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AppError };
