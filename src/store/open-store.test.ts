import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.js';
import { openStore, parseDatabaseUrl } from './open-store.js';

describe('parseDatabaseUrl', () => {
  it.each([
    ['sqlite:./data/x.db', { kind: 'sqlite', path: './data/x.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['sqlite:///var/lib/scimitar.db', { kind: 'sqlite', path: '/var/lib/scimitar.db' }],
    ['./data/x.db', { kind: 'sqlite', path: './data/x.db' }],
    ['/abs/x.db', { kind: 'sqlite', path: '/abs/x.db' }],
    ['postgres://u:p@db:5432/scimitar', { kind: 'postgres', url: 'postgres://u:p@db:5432/scimitar' }],
    ['postgresql://db/scimitar?sslmode=require', { kind: 'postgres', url: 'postgresql://db/scimitar?sslmode=require' }],
  ])('%s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  it('refuses other schemes without echoing credentials', () => {
    const err = (() => {
      try {
        parseDatabaseUrl('mysql://root:secret@db/x');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('invalid_value');
    expect((err as AppError).detail).not.toContain('secret');
  });

  it('opens an in-memory SQLite store', async () => {
    const store = await openStore('sqlite::memory:');
    expect(await store.tenants.list()).toEqual([]);
    await store.close();
  });
});
