import type { FastifyError } from 'fastify';
import { AppError, isAppError } from '../core/errors.js';
import { ERROR_SCHEMA } from '../scim/schema/urns.js';

export interface ScimErrorBody {
  readonly schemas: readonly string[];
  readonly status: string;
  readonly scimType?: string;
  readonly detail: string;
}

/**
 * The one place an error becomes an RFC 7644 §3.12 body. Fastify's own errors (bad JSON, body
 * too large, unsupported media type) are translated to `AppError` first, so every client sees
 * the same shape. Anything unexpected is a 500 whose detail reveals nothing internal.
 */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const fastifyError = err as Partial<FastifyError> & { type?: string };
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'request body is larger than the server accepts', { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(
        'unsupported_media_type',
        'content type must be `application/scim+json` or `application/json`',
        { cause: err },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_syntax', 'request body is empty', { cause: err });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('invalid_syntax', 'content length does not match the body', { cause: err });
  }
  if (fastifyError.statusCode === 400 && err instanceof SyntaxError) {
    return new AppError('invalid_syntax', `request body is not valid JSON: ${err.message.toLowerCase()}`, { cause: err });
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode === 404) {
    return new AppError('not_found', 'not found', { cause: err });
  }
  return new AppError('internal', 'internal server error', { cause: err });
}

export function scimErrorBody(err: AppError): ScimErrorBody {
  return {
    schemas: [ERROR_SCHEMA],
    status: String(err.status),
    ...(err.scimType ? { scimType: err.scimType } : {}),
    detail: err.detail,
  };
}
