import type { FastifySchemaValidationError } from 'fastify';
import { AppError } from '../../core/errors.js';

/**
 * JSON schemas of the AuthZEN Authorization API 1.0 messages (and of the native `/authz/v1` bodies
 * that reuse them), compiled once by Fastify's Ajv, so a malformed body is refused before a handler
 * runs, with the exact field named.
 *
 * Fastify's Ajv runs with `removeAdditional: true`, which silently deletes properties a schema
 * forbids with `additionalProperties: false`. A typo such as `{"subject": {"typ": "user"}}` must be
 * an error, not a request about a different subject, so unknown fields are refused with
 * `additionalProperties: NO_MORE` instead: a schema (not the literal `false`) is validated, never
 * stripped. Ajv also coerces scalars (`coerceTypes: 'array'`), so a numeric id `42` is taken as the
 * id `"42"`; objects, arrays and `null` never pass as strings.
 */
const NO_MORE = { not: {} } as const;

/**
 * A non-empty string. Not `minLength: 1`: Ajv counts code points for it (`ucs2length`), a walk over
 * every id of a 1,000-item batch that showed in profiles; comparing with `''` costs nothing. The
 * body limit bounds the length.
 */
const name = { type: 'string', not: { const: '' } } as const;
const properties = { type: 'object' } as const;

export const SUBJECT = {
  type: 'object',
  required: ['type', 'id'],
  properties: { type: name, id: name, properties },
  additionalProperties: NO_MORE,
} as const;

export const ACTION = {
  type: 'object',
  required: ['name'],
  properties: { name, properties },
  additionalProperties: NO_MORE,
} as const;

export const RESOURCE = {
  type: 'object',
  required: ['type', 'id'],
  properties: { type: name, id: name, properties },
  additionalProperties: NO_MORE,
} as const;

export const CONTEXT = { type: 'object' } as const;

/** AuthZEN §6.1: one question. */
export const EVALUATION_BODY = {
  type: 'object',
  required: ['subject', 'action', 'resource'],
  properties: { subject: SUBJECT, action: ACTION, resource: RESOURCE, context: CONTEXT },
  additionalProperties: NO_MORE,
} as const;

export const SEMANTICS = ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'] as const;
export type EvaluationsSemantic = (typeof SEMANTICS)[number];

const EVALUATION_ITEM = {
  type: 'object',
  properties: { subject: SUBJECT, action: ACTION, resource: RESOURCE, context: CONTEXT },
  additionalProperties: NO_MORE,
} as const;

/** A batch is answered in one go on the event loop; this bounds how long it may hold it (a few ms). */
export const MAX_EVALUATIONS = 10_000;

/** AuthZEN §7.1: defaults at the top, each item overriding whole entities; `options` may carry more than the semantic. */
export const EVALUATIONS_BODY = {
  type: 'object',
  properties: {
    subject: SUBJECT,
    action: ACTION,
    resource: RESOURCE,
    context: CONTEXT,
    evaluations: { type: 'array', maxItems: MAX_EVALUATIONS, items: EVALUATION_ITEM },
    options: {
      type: 'object',
      properties: { evaluations_semantic: { type: 'string', enum: SEMANTICS } },
    },
  },
  additionalProperties: NO_MORE,
} as const;

/** A search names the kind of entity it looks for, not which one: `id` is optional and ignored (AuthZEN §8). */
const SEARCHED_ENTITY = {
  type: 'object',
  required: ['type'],
  properties: { type: name, id: { type: 'string' }, properties },
  additionalProperties: NO_MORE,
} as const;

const PAGE = {
  type: 'object',
  properties: {
    token: { type: 'string', maxLength: 4096 },
    limit: { type: 'integer', minimum: 1 },
    properties,
  },
  additionalProperties: NO_MORE,
} as const;

export const SUBJECT_SEARCH_BODY = {
  type: 'object',
  required: ['subject', 'action', 'resource'],
  properties: { subject: SEARCHED_ENTITY, action: ACTION, resource: RESOURCE, context: CONTEXT, page: PAGE },
  additionalProperties: NO_MORE,
} as const;

export const RESOURCE_SEARCH_BODY = {
  type: 'object',
  required: ['subject', 'action', 'resource'],
  properties: { subject: SUBJECT, action: ACTION, resource: SEARCHED_ENTITY, context: CONTEXT, page: PAGE },
  additionalProperties: NO_MORE,
} as const;

export const ACTION_SEARCH_BODY = {
  type: 'object',
  required: ['subject', 'resource'],
  properties: { subject: SUBJECT, resource: RESOURCE, context: CONTEXT, page: PAGE },
  additionalProperties: NO_MORE,
} as const;

/** `POST /authz/v1/who-can`: the native question, with the engine's own paging (`after` is a previous `next`). */
export const WHO_CAN_BODY = {
  type: 'object',
  required: ['action', 'resource'],
  properties: {
    action: name,
    resource: RESOURCE,
    context: CONTEXT,
    limit: { type: 'integer', minimum: 1 },
    after: { type: 'string', maxLength: 4096 },
  },
  additionalProperties: NO_MORE,
} as const;

/** Query flags every decision route takes; other query parameters are ignored, as HTTP caches and proxies add some. */
export const DECISION_QUERY = {
  type: 'object',
  properties: {
    // The number, or a `meta.version` / `ETag` as a write returned it (`W/"12"`), copied as is.
    atLeastRevision: { type: 'string', pattern: '^(?:[0-9]{1,15}|W/"[0-9]{1,15}")$' },
    at: { type: 'string', maxLength: 64 },
    reasons: { type: 'boolean' },
  },
} as const;

export const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1 } },
} as const;

export interface EntityInput {
  readonly type: string;
  readonly id: string;
  readonly properties?: Readonly<Record<string, unknown>>;
}

export interface ActionInput {
  readonly name: string;
  readonly properties?: Readonly<Record<string, unknown>>;
}

export interface EvaluationBody {
  readonly subject: EntityInput;
  readonly action: ActionInput;
  readonly resource: EntityInput;
  readonly context?: Readonly<Record<string, unknown>>;
}

export interface EvaluationsBody extends Partial<EvaluationBody> {
  readonly evaluations?: readonly Partial<EvaluationBody>[];
  readonly options?: { readonly evaluations_semantic?: EvaluationsSemantic };
}

export interface PageInput {
  readonly token?: string;
  readonly limit?: number;
}

export interface SubjectSearchBody {
  readonly subject: { readonly type: string };
  readonly action: ActionInput;
  readonly resource: EntityInput;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly page?: PageInput;
}

export interface ResourceSearchBody {
  readonly subject: EntityInput;
  readonly action: ActionInput;
  readonly resource: { readonly type: string };
  readonly context?: Readonly<Record<string, unknown>>;
  readonly page?: PageInput;
}

export interface ActionSearchBody {
  readonly subject: EntityInput;
  readonly resource: EntityInput;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly page?: PageInput;
}

export interface WhoCanBody {
  readonly action: string;
  readonly resource: EntityInput;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly limit?: number;
  readonly after?: string;
}

export interface DecisionQuery {
  readonly atLeastRevision?: string;
  readonly at?: string;
  readonly reasons?: boolean;
}

/** Where Fastify found the invalid input (its `SchemaErrorDataVar`, which the package does not export). */
type SchemaErrorDataVar = 'body' | 'headers' | 'params' | 'querystring';

const WHERE: Readonly<Record<SchemaErrorDataVar, string>> = {
  body: 'request body',
  querystring: 'query parameter',
  params: 'path parameter',
  headers: 'header',
};

/**
 * Turns the first Ajv error of a route schema into an `AppError` naming the field, e.g.
 * ``field `evaluations[2].resource.id` is required``. A body that is not an object, or that holds a
 * field the message does not define, is `invalid_syntax`; a missing or ill-typed value is `invalid_value`.
 */
export function schemaError(errors: readonly FastifySchemaValidationError[], dataVar: SchemaErrorDataVar): AppError {
  const error = errors[0];
  if (!error) return new AppError('invalid_syntax', `the ${WHERE[dataVar]} is not valid`);
  const at = fieldPath(error.instancePath);
  const params = error.params;
  if (at === '' && error.keyword === 'type' && dataVar === 'body') {
    return new AppError('invalid_syntax', 'the request body must be a JSON object');
  }
  const field = dataVar === 'body' ? `field \`${at}\`` : `${WHERE[dataVar]} \`${at}\``;
  switch (error.keyword) {
    case 'required': {
      const missing = at === '' ? String(params.missingProperty) : `${at}.${String(params.missingProperty)}`;
      return new AppError('invalid_value', `${dataVar === 'body' ? 'field' : WHERE[dataVar]} \`${missing}\` is required`);
    }
    case 'not':
      if (error.schemaPath.endsWith('/additionalProperties/not')) {
        return new AppError('invalid_syntax', `${field} is not part of this message`);
      }
      return new AppError('invalid_value', `${field} must not be empty`);
    case 'type':
      return new AppError('invalid_value', `${field} must be ${article(String(params.type))}`);
    case 'maxLength':
      return new AppError('invalid_value', `${field} must be at most ${String(params.limit)} characters long`);
    case 'maxItems':
      return new AppError('too_many', `${field} holds more than ${String(params.limit)} items: split the batch`);
    case 'minimum':
      return new AppError('invalid_value', `${field} must be at least ${String(params.limit)}`);
    case 'pattern':
      if (at === 'atLeastRevision') {
        return new AppError('invalid_value', `${field} must be a revision: a number, or a \`meta.version\` such as \`W/"12"\``);
      }
      break;
    case 'enum':
      return new AppError(
        'invalid_value',
        `${field} must be one of ${(params.allowedValues as unknown[]).map((v) => `\`${String(v)}\``).join(', ')}`,
      );
  }
  return new AppError('invalid_value', `${field} is not valid: ${error.message ?? error.keyword}`);
}

/** `/evaluations/2/resource/id` → `evaluations[2].resource.id` (JSON Pointer escapes undone). */
function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

function article(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}
