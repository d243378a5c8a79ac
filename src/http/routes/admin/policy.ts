import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parse as parseYaml } from 'yaml';
import type { PolicySet } from '../../../authz/model.js';
import { parsePolicyFile, printPolicyFile } from '../../../authz/policy-file.js';
import type { PolicyProblem } from '../../../authz/validate.js';
import { AppError } from '../../../core/errors.js';
import { isPlainObject } from '../../../core/json.js';
import { describe } from '../../../service/policy-admin.js';
import { actorOf } from '../../auth.js';
import { requireAuth } from '../scim/context.js';
import { REVISION_HEADER, sendJson, type AdminRouteDeps } from './context.js';

/**
 * The whole model as one policy file: export it, see what applying a file would change, apply it.
 * A file comes as YAML (`application/yaml`) or as the JSON the export gives; both go through
 * `parsePolicyFile`, so they are read, and refused, the same way.
 */
export function registerPolicyRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { policy } = deps;

  app.get('/policy', async (request, reply) => {
    const auth = requireAuth(request);
    const text = printPolicyFile(await policy.export(auth.tenantId));
    if (wantsYaml(request)) return reply.code(200).type('application/yaml; charset=utf-8').send(text);
    return sendJson(reply, 200, policyDocument(text));
  });

  app.post('/policy/plan', async (request, reply) => {
    const auth = requireAuth(request);
    const applied = await policy.apply(auth.tenantId, actorOf(request, auth), desiredPolicy(request.body), { dryRun: true });
    return sendJson(reply, 200, applied.plan);
  });

  app.put('/policy', async (request, reply) => {
    const auth = requireAuth(request);
    const applied = await policy.apply(auth.tenantId, actorOf(request, auth), desiredPolicy(request.body));
    if (applied.revision !== null) reply.header(REVISION_HEADER, String(applied.revision));
    return sendJson(reply, 200, { plan: applied.plan, revision: applied.revision });
  });
}

/** `Accept: application/yaml` (or `text/yaml`) asks for the file itself; anything else gets JSON. */
function wantsYaml(request: FastifyRequest): boolean {
  return /\b(application|text)\/(x-)?yaml\b/i.test(request.headers.accept ?? '');
}

/** The policy file as a JSON value: what `PUT /policy` takes back as it is. */
function policyDocument(yamlText: string): unknown {
  return parseYaml(yamlText) ?? {};
}

/**
 * The set a plan or apply body describes. An empty body is refused rather than read as an empty
 * policy: applying that would delete the whole model, which should take an explicit `{}`.
 */
function desiredPolicy(body: unknown): PolicySet {
  let text: string;
  if (typeof body === 'string' && body.trim() !== '') text = body;
  else if (isPlainObject(body)) text = JSON.stringify(body);
  else if (body === undefined || body === '') {
    throw new AppError('invalid_syntax', 'the request body must be a policy file, as `application/yaml` or `application/json`');
  } else throw new AppError('invalid_syntax', 'the request body must be a JSON object or a YAML policy file');
  const parsed = parsePolicyFile(text);
  if (!parsed.ok) throw new AppError('invalid_value', `the policy is not valid: ${formatProblems(parsed.problems)}`);
  return parsed.set;
}

/** Every problem, not the first few: fixing a file one round trip per mistake is no way to work. */
function formatProblems(problems: readonly (PolicyProblem | string)[]): string {
  return problems.map((p) => (typeof p === 'string' ? p : `${describe(p.kind)} \`${p.id}\`: ${p.message}`)).join('; ');
}
