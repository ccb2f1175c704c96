import fc from 'fast-check';
import * as z from 'zod/mini';
import { StoreEndpointRefusedError } from '../../../functions/shared/errors';
import {
  StoreEndpointEnvironment,
  StoreEndpointPolicy,
  storeEndpointPolicy,
} from '../../../functions/shared/network/store-endpoint-policy';

/** The verdict of the default (production) policy on a record's endpoint. */
function refusal(policy: StoreEndpointPolicy, endpoint: string): StoreEndpointRefusedError | undefined {
  try {
    policy.checkEndpoint(endpoint);
    return undefined;
  } catch (error) {
    if (error instanceof StoreEndpointRefusedError) return error;
    throw error;
  }
}

describe('Class: StoreEndpointPolicy', () => {
  const strict = new StoreEndpointPolicy();

  it.each([
    ['http by default', 'http://s3.example.org', /must use https/],
    ['another scheme', 'ftp://s3.example.org', /must be an https URL/],
    ['no URL at all', 's3.example.org', /absolute URL/],
    ['userinfo', 'https://user:pw@internal.corp:8080/', /userinfo/],
    ['a user alone', 'https://user@s3.example.org/', /userinfo/],
    ['a query', 'https://s3.example.org/?x=1', /query or a fragment/],
    ['an empty query', 'https://s3.example.org/?', /query or a fragment/],
    ['a fragment', 'https://s3.example.org/#top', /query or a fragment/],
    ['an empty fragment', 'https://s3.example.org/#', /query or a fragment/],
    ['instance metadata', 'https://169.254.169.254/latest/meta-data/', /link-local/],
    ['loopback', 'https://127.0.0.1:9000', /loopback/],
    ['loopback elsewhere in 127/8', 'https://127.8.9.10', /loopback/],
    ['IPv6 loopback', 'https://[::1]:22/', /loopback/],
    ['localhost', 'https://localhost:9000', /loopback name/],
    ['a localhost subdomain', 'https://minio.localhost', /loopback name/],
    ['LOCALHOST. in capitals with a root dot', 'https://LOCALHOST.:9000', /loopback name/],
    ['RFC 1918 10/8', 'https://10.0.0.5:9000', /private/],
    ['RFC 1918 172.16/12', 'https://172.31.255.1', /private/],
    ['RFC 1918 192.168/16', 'https://192.168.1.1', /private/],
    ['CGNAT', 'https://100.64.0.1', /carrier-grade NAT/],
    ['ULA', 'https://[fd00:ec2::254]', /unique local/],
    ['IPv6 link-local', 'https://[fe80::1]', /link-local/],
    ['unspecified 0.0.0.0', 'https://0.0.0.0:9000', /unspecified/],
    ['unspecified ::', 'https://[::]:9000', /unspecified/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]', /loopback/],
    ['IPv4-mapped metadata, hex', 'https://[::ffff:a9fe:a9fe]', /link-local/],
    ['IPv4-compatible loopback', 'https://[::127.0.0.1]', /loopback/],
    ['NAT64 of a private address', 'https://[64:ff9b::10.0.0.1]', /private/],
    ['6to4 of a private address', 'https://[2002:c0a8:0101::1]', /private/],
    ['a decimal integer', 'https://2130706433/', /loopback/],
    ['a hex integer', 'https://0x7f000001/', /loopback/],
    ['an octal dotted quad', 'https://0177.0.0.1/', /loopback/],
    ['a short form', 'https://127.1/', /loopback/],
    ['metadata as a decimal integer', 'https://2852039166/', /link-local/],
    ['multicast', 'https://224.0.0.1', /multicast/],
  ])('refuses %s (%s) with 400 endpoint_not_allowed naming endpoint', (_case, endpoint, message) => {
    // Act
    const refused = refusal(strict, endpoint);

    // Assess
    expect(refused).toBeInstanceOf(StoreEndpointRefusedError);
    expect(refused).toMatchObject({ status: 400, code: 'endpoint_not_allowed', field: 'endpoint' });
    expect(refused?.message).toMatch(message);
  });

  it.each([
    'https://s3.us-east-1.amazonaws.com',
    'https://storage.googleapis.com',
    'https://minio.example.org:9000/prefix',
    'https://8.8.8.8',
    'https://[2600:1f18::1]',
  ])('accepts the public endpoint %s', (endpoint) => {
    expect(refusal(strict, endpoint)).toBeUndefined();
  });

  it('accepts http, and a listed host name or CIDR, only when the deployment says so', () => {
    // Prepare
    const onPrem = new StoreEndpointPolicy({
      allowHttp: true,
      allowedNetworks: ['10.0.0.0/24', 'minio.internal', 'fd00::/8', '192.168.7.7'],
    });

    // Assess
    expect(refusal(onPrem, 'http://10.0.0.5:9000')).toBeUndefined();
    expect(refusal(onPrem, 'https://minio.internal:9000')).toBeUndefined();
    expect(refusal(onPrem, 'https://[fd00::5]')).toBeUndefined();
    expect(refusal(onPrem, 'https://[::ffff:10.0.0.5]')).toBeUndefined();
    expect(refusal(onPrem, 'https://192.168.7.7')).toBeUndefined();
    // Only what is listed: the next /24, another host and the metadata service stay refused.
    expect(refusal(onPrem, 'http://10.0.1.5:9000')?.message).toMatch(/private/);
    expect(refusal(onPrem, 'https://192.168.7.8')?.message).toMatch(/private/);
    expect(refusal(onPrem, 'http://169.254.169.254')?.message).toMatch(/link-local/);
    // Userinfo, queries and fragments are refused whatever the allow-list says.
    expect(refusal(onPrem, 'https://u:p@minio.internal')?.message).toMatch(/userinfo/);
  });

  it('never repeats the host in its message', () => {
    const refused = refusal(strict, 'https://10.11.12.13');
    expect(refused?.message).not.toContain('10.11.12.13');
  });

  it('refuses a private or loopback address in every spelling the URL parser accepts (property)', () => {
    // Addresses of the refused ranges, written as dotted quads, decimal, hex or octal integers,
    // hex or octal parts, short forms, IPv4-mapped IPv6 (dotted or hex) and IPv4-compatible IPv6.
    const refusedIpv4 = fc.oneof(
      fc.tuple(fc.constant(10), fc.nat(255), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(127), fc.nat(255), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(169), fc.constant(254), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(192), fc.constant(168), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(0), fc.nat(255), fc.nat(255), fc.nat(255)),
    );
    const spelled = (parts: [number, number, number, number], style: number): string => {
      const [a, b, c, d] = parts;
      const integer = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
      const hex = (n: number) => `0x${n.toString(16)}`;
      const octal = (n: number) => `0${n.toString(8)}`;
      switch (style) {
        case 0:
          return `${a}.${b}.${c}.${d}`;
        case 1:
          return String(integer);
        case 2:
          return hex(integer);
        case 3:
          return `0${integer.toString(8)}`;
        case 4:
          return `${hex(a)}.${hex(b)}.${hex(c)}.${hex(d)}`;
        case 5:
          return `${octal(a)}.${octal(b)}.${octal(c)}.${octal(d)}`;
        case 6:
          return `${a}.${(b << 16) + (c << 8) + d}`;
        case 7:
          return `[::ffff:${a}.${b}.${c}.${d}]`;
        case 8:
          return `[::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}]`;
        default:
          return `[0:0:0:0:0:ffff:${a}.${b}.${c}.${d}]`;
      }
    };
    const refusedIpv6 = fc.oneof(
      fc.constant('[::1]'),
      fc.constant('[::]'),
      fc
        .tuple(fc.integer({ min: 0xfc00, max: 0xfdff }), fc.nat(0xffff))
        .map(([g, h]) => `[${g.toString(16)}::${h.toString(16)}]`),
      fc
        .tuple(fc.integer({ min: 0xfe80, max: 0xfebf }), fc.nat(0xffff))
        .map(([g, h]) => `[${g.toString(16)}::${h.toString(16)}]`),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(refusedIpv4, fc.nat(9)).map(([parts, style]) => spelled(parts, style)),
          refusedIpv6,
        ),
        fc.constantFrom('http', 'https'),
        fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
        (host, scheme, port) => {
          const endpoint = `${scheme}://${host}${port === undefined ? '' : `:${port}`}/`;
          // Even with http allowed, the address itself is refused.
          const refused = refusal(new StoreEndpointPolicy({ allowHttp: true }), endpoint);
          expect(refused?.code).toBe('endpoint_not_allowed');
        },
      ),
      { numRuns: 1000 },
    );
  });

  describe('Settings: STORE_ENDPOINT_ALLOW_HTTP, STORE_ENDPOINT_ALLOWED_NETWORKS', () => {
    const schema = z.object(StoreEndpointEnvironment);

    it('defaults to https only and an empty allow-list', () => {
      // Prepare
      const unset = schema.parse({});

      // Assess: unset leaves it to the process environment, whose own default is strict.
      expect(unset).toEqual({});
      const policy = StoreEndpointPolicy.fromEnvironment(
        schema.parse({ STORE_ENDPOINT_ALLOW_HTTP: 'false' }),
      );
      expect(policy).toMatchObject({ allowHttp: false, allowedNetworks: [] });
      expect(storeEndpointPolicy({})).toMatchObject({ allowHttp: false, allowedNetworks: [] });
    });

    it('reads a comma-separated list of host names and CIDRs', () => {
      expect(
        schema.parse({
          STORE_ENDPOINT_ALLOW_HTTP: 'true',
          STORE_ENDPOINT_ALLOWED_NETWORKS: ' 10.0.0.0/8, minio.internal,,::1/128',
        }),
      ).toEqual({
        STORE_ENDPOINT_ALLOW_HTTP: true,
        STORE_ENDPOINT_ALLOWED_NETWORKS: ['10.0.0.0/8', 'minio.internal', '::1/128'],
      });
    });

    it.each([
      '10.0.0.0/33',
      '10.0.0.0/x',
      'fd00::/129',
      'not a host',
      '*.corp',
      '10.0.0.0/8/1',
      'minio.internal/8',
    ])('refuses %s', (entry) => {
      expect(schema.safeParse({ STORE_ENDPOINT_ALLOWED_NETWORKS: entry }).success).toBe(false);
    });

    it('refuses a flag other than true or false', () => {
      expect(schema.safeParse({ STORE_ENDPOINT_ALLOW_HTTP: 'yes' }).success).toBe(false);
    });
  });
});
