import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHostname } from '../../../functions/shared/http/loopback';
import { cli } from '../support/cli';

/**
 * `fence-buckets --api URL` sends the keys a registration carries and SigV4-signed requests:
 * over `https`, or over plain `http` to this machine only (the local runner). A stand-in admin
 * API on loopback records what reaches it.
 */
describe('CLI: fence-buckets --api refuses plain http except to this machine', () => {
  let server: Server;
  let port: number;
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push(`${request.method} ${request.headers.host}${request.url}`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ records: [] }));
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((closed) => server.close(closed));
  });

  it.each([
    'http://admin.example.org/prod',
    'http://10.0.0.5:8787',
    'http://169.254.169.254/latest',
    'http://127.0.0.1.nip.io:8787',
  ])('refuses --api %s with exit 2 and one line naming the rule', async (api) => {
    // Act
    const answer = await cli(['--api', api, 'list']);

    // Assess
    expect(answer.code).toBe(2);
    expect(answer.err).toBe(
      `error: --api must be https:// (plain http:// only to this machine: 127.0.0.1, localhost or [::1]), not http://${new URL(api).host}\n`,
    );
    expect(answer.out).toBe('');
  });

  it('refuses a URL of another scheme, and one that is not a URL', async () => {
    // Act
    const ftp = await cli(['--api', 'ftp://admin.example.org/', 'list']);
    const notUrl = await cli(['--api', 'admin.example.org', 'list']);

    // Assess
    expect(ftp).toMatchObject({ code: 2, err: 'error: --api must be an https:// URL, not ftp:\n' });
    expect(notUrl.code).toBe(2);
    expect(notUrl.err).toContain('--api must be a URL');
  });

  it('calls an admin API on loopback over plain http (127.0.0.1 and localhost)', async () => {
    // Act
    const byAddress = await cli(['--json', '--api', `http://127.0.0.1:${port}`, 'list']);
    const byName = await cli(['--json', '--api', `http://localhost:${port}/local`, 'list']);

    // Assess
    expect(byAddress.code).toBe(0);
    expect(byName.code).toBe(0);
    expect(received).toEqual([
      `GET 127.0.0.1:${port}/v1/admin/buckets`,
      `GET localhost:${port}/local/v1/admin/buckets`,
    ]);
  });
});

describe('Function: isLoopbackHostname', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '[::1]', '::1'])(
    '%s is this machine',
    (host) => {
      expect(isLoopbackHostname(host)).toBe(true);
    },
  );

  it.each([
    '10.0.0.5',
    '0.0.0.0',
    '[::]',
    '169.254.169.254',
    'localhost.example.org',
    '127.0.0.1.nip.io',
    '[::ffff:a00:5]',
    'example.org',
  ])('%s is not', (host) => {
    expect(isLoopbackHostname(host)).toBe(false);
  });
});
