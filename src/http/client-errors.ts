import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { AppError } from '../core/errors.js';
import { scimErrorBody } from './error-mapper.js';
import { SCIM_CONTENT_TYPE, sendScim } from './scim-reply.js';

/**
 * Errors Fastify raises before a route runs (a URL that does not decode, a path segment longer than
 * any id) get the same SCIM error body as everything else.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const appError =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError('not_found', 'no resource has an id that long', { cause: error })
      : new AppError('invalid_syntax', 'the request url is not valid percent-encoded utf-8', { cause: error });
  void sendScim(reply, appError.status, scimErrorBody(appError));
}

/**
 * Errors of the HTTP parser itself (a request line or headers too large, malformed HTTP) happen
 * before Fastify has a request; the raw socket still answers with a SCIM error body.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) return;
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify({
    ...scimErrorBody(new AppError('invalid_syntax', tooLarge ? 'request line or headers too large; send long filters with POST `/.search`' : 'malformed http request')),
    status: String(status),
  });
  socket.end(
    [
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}`,
      `Content-Type: ${SCIM_CONTENT_TYPE}`,
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
