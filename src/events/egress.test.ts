import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isPublicAddress, privateHostReason, publicOnlyLookup } from './egress.js';

describe('isPublicAddress', () => {
  it('refuses loopback, private, link-local, shared, multicast and reserved addresses, v4 and v6', () => {
    const refused = [
      '127.0.0.1',
      '127.255.255.254',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not an address',
    ];
    expect(refused.filter(isPublicAddress)).toEqual([]);
  });

  it('allows public addresses, v4 and v6', () => {
    const allowed = ['93.184.216.34', '172.32.0.1', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'];
    expect(allowed.filter((a) => !isPublicAddress(a))).toEqual([]);
  });
});

describe('privateHostReason', () => {
  it('names private IP literals and localhost, and leaves other names to the lookup', () => {
    expect(privateHostReason(new URL('http://127.0.0.1:8080/hook'))).toMatch(/127\.0\.0\.1 is a private/);
    expect(privateHostReason(new URL('http://[::1]/hook'))).toMatch(/::1 is a private/);
    expect(privateHostReason(new URL('https://LOCALHOST/hook'))).toMatch(/localhost is a loopback name/);
    expect(privateHostReason(new URL('https://api.localhost/hook'))).toMatch(/loopback name/);
    expect(privateHostReason(new URL('https://hooks.example.com/hook'))).toBeUndefined();
    expect(privateHostReason(new URL('https://93.184.216.34/hook'))).toBeUndefined();
  });
});

describe('publicOnlyLookup', () => {
  const lookup = (host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      publicOnlyLookup(host, { all }, (err, address) => resolve({ err, address })),
    );

  it('refuses a name that resolves to a loopback address', async () => {
    const { err } = await lookup('localhost', false);
    expect(err).toMatchObject({ code: 'EPRIVATEADDRESS', message: expect.stringMatching(/^localhost resolves to .*, a private, loopback or reserved address$/) });
  });

  it('stops node:http from connecting to a name that resolves to loopback', async () => {
    let reached = 0;
    const server = createServer((_req, res) => {
      reached += 1;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
        const req = request(`http://localhost:${port}/hook`, { method: 'POST', lookup: publicOnlyLookup }, () => resolve(new Error('answered')));
        req.on('error', resolve);
        req.end('{}');
      });
      expect(err.code).toBe('EPRIVATEADDRESS');
      expect(reached).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('passes public addresses through in the shape asked for', async () => {
    expect(await lookup('93.184.216.34', false)).toEqual({ err: null, address: '93.184.216.34' });
    expect(await lookup('93.184.216.34', true)).toEqual({ err: null, address: [{ address: '93.184.216.34', family: 4 }] });
  });
});
