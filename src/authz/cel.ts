import { Environment } from '@marcbachmann/cel-js';

/**
 * Conditions in CEL (the language of Google IAM Conditions, Kubernetes and Cerbos), compiled once
 * when a binding is saved or loaded and evaluated on the check path.
 *
 * The evaluator is `@marcbachmann/cel-js`: no dependencies, and an order of magnitude faster per
 * evaluation than `@bufbuild/cel` on our conditions (`npm run bench:cel`, `bench/results/cel.md`),
 * which matters because a condition runs inside a check that must stay in microseconds.
 *
 * Numbers in `subject`, `resource` and `context` come from JSON, so they are CEL doubles (CEL's own
 * JSON mapping does the same). Comparisons with integer literals work across the two
 * (`resource.attributes.level >= 3`); arithmetic mixing them needs `double(…)` or `int(…)`.
 */
export interface ConditionVars {
  readonly subject: Readonly<Record<string, unknown>>;
  readonly resource: Readonly<Record<string, unknown>>;
  readonly context: Readonly<Record<string, unknown>>;
  readonly request: { readonly time: Date };
}

export type ConditionResult = { readonly ok: true; readonly value: boolean } | { readonly ok: false; readonly error: string };

export interface CompiledCondition {
  readonly source: string;
  /** Never throws: a missing key, a type mismatch or a non-boolean result is an error the caller reports. */
  evaluate(vars: ConditionVars): ConditionResult;
}

const MAX_CONDITION_LENGTH = 4096;

// Only the four variables exist: a typo (`subjet.title`) is refused when the binding is saved.
const environment = new Environment({ unlistedVariablesAreDyn: false })
  .registerVariable('subject', 'map')
  .registerVariable('resource', 'map')
  .registerVariable('context', 'map')
  .registerVariable('request', 'map');

export function compileCondition(
  source: string,
): { readonly ok: true; readonly condition: CompiledCondition } | { readonly ok: false; readonly error: string } {
  if (source.length > MAX_CONDITION_LENGTH) {
    return { ok: false, error: `condition is longer than ${MAX_CONDITION_LENGTH} characters` };
  }
  let program: ReturnType<typeof environment.parse>;
  try {
    program = environment.parse(source);
    const checked = program.check();
    if (!checked.valid) return { ok: false, error: invalid(source, checked.error) };
    if (checked.type !== 'bool' && checked.type !== 'dyn') {
      return { ok: false, error: `condition \`${source}\` returns ${checked.type}, not bool` };
    }
  } catch (err) {
    return { ok: false, error: invalid(source, err) };
  }
  return {
    ok: true,
    condition: {
      source,
      evaluate(vars) {
        let value: unknown;
        try {
          value = program(vars as unknown as Record<string, unknown>);
        } catch (err) {
          return { ok: false, error: firstLine(err) };
        }
        if (typeof value !== 'boolean') return { ok: false, error: `condition returned ${describe(value)}, not a bool` };
        return { ok: true, value };
      },
    },
  };
}

function invalid(source: string, err: unknown): string {
  return `condition \`${source}\` is not valid: ${firstLine(err)}`;
}

/** The library's messages carry a source excerpt on the following lines; the first line is the message. */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split('\n')[0]!.trim();
  return line.charAt(0).toLowerCase() + line.slice(1).replace(/\.$/, '');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'an int';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
