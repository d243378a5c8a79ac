import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTestDatabase } from '../setup/pg.js';

/**
 * `scimitar policy plan | apply | export` as an operator runs them: `node bin/scimitar.js …` over the
 * built `dist/` (npm test builds first), against real database files.
 */
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'scimitar.js');

function cli(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SCIMITAR_LOG_LEVEL: 'silent' },
    timeout: 30_000,
    ...(input !== undefined ? { input } : {}),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const POLICY = `# who may use the order database
resourceTypes:
  database: [connect, read, write]
resources:
  - { type: database, id: orders }
roles:
  db-reader: { permissions: ["database:connect", "database:read"] }
  db-writer: { permissions: ["database:write"], includes: [db-reader] }
attributeRules:
  - id: managers
    filter: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Engineering" and title co "Manager"'
    role: db-reader
    scope: "*"
groupMappings:
  - { id: eng, group: { displayName: Engineering }, role: db-writer, scope: "database:orders" }
`;

const PLANNED = [
  '+ resourceType database',
  '+ resource database:orders',
  '+ role db-reader',
  '+ role db-writer',
  '+ attributeRule managers',
  '+ groupMapping eng',
  'plan: 6 to create, 0 to replace, 0 to delete',
];

const lines = (text: string) => text.trimEnd().split('\n');

describe('scimitar policy CLI', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'scimitar-policy-cli-'));
    file = join(dir, 'policy.yaml');
    writeFileSync(file, POLICY);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const database = (name: string) => `sqlite:${join(dir, `${name}.db`)}`;

  it('P1 plan prints one line per change and writes nothing', () => {
    const db = database('p1');
    const plan = cli(['policy', 'plan', file, '--database', db]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(lines(plan.stdout)).toEqual(PLANNED);
    const exported = cli(['policy', 'export', '--database', db]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(parseYaml(exported.stdout)).toEqual({});
  });

  it('P2 apply writes the model and prints its revision; a second apply plans nothing', () => {
    const db = database('p2');
    const applied = cli(['policy', 'apply', file, '--database', db]);
    expect(applied.status, applied.stderr).toBe(0);
    expect(lines(applied.stdout).slice(0, -1)).toEqual(PLANNED);
    expect(lines(applied.stdout).at(-1)).toMatch(/^applied to tenant default at revision \d+$/);

    const again = cli(['policy', 'apply', file, '--database', db]);
    expect(again.status, again.stderr).toBe(0);
    expect(lines(again.stdout)).toEqual(['plan: no changes']);
  });

  it('P3 export writes back what was applied, as YAML and as JSON, and both plan nothing', () => {
    const db = database('p3');
    expect(cli(['policy', 'apply', file, '--database', db]).status).toBe(0);

    const yaml = cli(['policy', 'export', '--database', db]);
    expect(yaml.status, yaml.stderr).toBe(0);
    expect(parseYaml(yaml.stdout)).toEqual(parseYaml(POLICY));
    const json = cli(['policy', 'export', '--format', 'json', '--database', db]);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(parseYaml(POLICY));

    for (const [name, text] of [['export.yaml', yaml.stdout], ['export.json', json.stdout]] as const) {
      writeFileSync(join(dir, name), text);
      const plan = cli(['policy', 'plan', join(dir, name), '--database', db]);
      expect(plan.status, plan.stderr).toBe(0);
      expect(lines(plan.stdout)).toEqual(['plan: no changes']);
    }
    // The exported file applied elsewhere makes the same model.
    const copy = database('p3-copy');
    expect(cli(['policy', 'apply', '-', '--database', copy], yaml.stdout).status).toBe(0);
    expect(cli(['policy', 'export', '--database', copy]).stdout).toBe(yaml.stdout);
  });

  it('P4 a changed file plans replaces and deletes, and --dry-run changes nothing', () => {
    const db = database('p4');
    expect(cli(['policy', 'apply', file, '--database', db]).status).toBe(0);
    const changed = join(dir, 'changed.yaml');
    writeFileSync(
      changed,
      POLICY.replace('"database:connect", "database:read"', '"database:read"').replace(/groupMappings:\n.*\n/, ''),
    );
    const dryRun = cli(['policy', 'apply', changed, '--dry-run', '--database', db]);
    expect(dryRun.status, dryRun.stderr).toBe(0);
    expect(lines(dryRun.stdout)).toEqual(['~ role db-reader', '- groupMapping eng', 'plan: 0 to create, 1 to replace, 1 to delete']);
    expect(cli(['policy', 'plan', changed, '--database', db]).stdout).toBe(dryRun.stdout);

    const applied = cli(['policy', 'apply', changed, '--database', db]);
    expect(applied.status, applied.stderr).toBe(0);
    expect(lines(applied.stdout).slice(0, -1)).toEqual(lines(dryRun.stdout));
    expect(parseYaml(cli(['policy', 'export', '--database', db]).stdout).groupMappings).toBeUndefined();
  });

  it('P5 an invalid file exits 1, lists every problem on stderr, and changes nothing', () => {
    const db = database('p5');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'resourceTypes:',
        '  database: [read]',
        'roles:',
        '  reader: { permissions: ["database:fly"] }',
        'bindings:',
        '  - { id: b1, subject: { type: everyone }, role: nobody, scope: "*" }',
        '',
      ].join('\n'),
    );
    for (const command of ['plan', 'apply']) {
      const result = cli(['policy', command, bad, '--database', db]);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('is not a valid policy file');
      expect(result.stderr).toContain('`database:fly`');
      expect(result.stderr).toContain('role `nobody` does not exist');
    }
    const syntax = join(dir, 'syntax.yaml');
    writeFileSync(syntax, 'roles: [unclosed\n');
    const broken = cli(['policy', 'apply', syntax, '--database', db]);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/line \d+/);
    const missing = cli(['policy', 'plan', join(dir, 'nope.yaml'), '--database', db]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('nope.yaml');
    expect(parseYaml(cli(['policy', 'export', '--database', db]).stdout)).toEqual({});
  });

  it('P6 --tenant picks the tenant; an unknown one exits 1', () => {
    const db = database('p6');
    expect(cli(['tenant', 'create', 'acme', '--database', db]).status).toBe(0);
    const applied = cli(['policy', 'apply', file, '--tenant', 'acme', '--database', db]);
    expect(applied.status, applied.stderr).toBe(0);
    expect(lines(applied.stdout).at(-1)).toMatch(/^applied to tenant acme at revision \d+$/);
    expect(parseYaml(cli(['policy', 'export', '--tenant', 'acme', '--database', db]).stdout)).toEqual(parseYaml(POLICY));
    expect(parseYaml(cli(['policy', 'export', '--database', db]).stdout)).toEqual({});

    const unknown = cli(['policy', 'export', '--tenant', 'nope', '--database', db]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('`nope`');
  });

  it.runIf(inject('pgUrl'))('P7 works the same on PostgreSQL', async () => {
    const db = await createTestDatabase();
    expect(lines(cli(['policy', 'apply', file, '--database', db]).stdout).slice(0, -1)).toEqual(PLANNED);
    expect(lines(cli(['policy', 'apply', file, '--database', db]).stdout)).toEqual(['plan: no changes']);
    expect(parseYaml(cli(['policy', 'export', '--database', db]).stdout)).toEqual(parseYaml(POLICY));
  });
});
