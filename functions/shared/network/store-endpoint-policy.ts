import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import * as z from 'zod/mini';
import { StoreEndpointRefusedError } from '../errors';

/**
 * Where the broker may send its own requests to a bucket's store (SSRF defence, DESIGN.md
 * "Untrusted input from trusted people"). A record's `endpoint` comes from an admin, a Fence DB
 * row or a migration, and the broker's functions call it from inside AWS (the admin function from
 * Fence DB's VPC): without this policy an endpoint could point them at the instance metadata
 * service, a database port or anything else the VPC reaches.
 */
export interface StoreEndpointSettings {
  /** Accept `http` endpoints (the local runner's MinIO, tests). @default false */
  allowHttp?: boolean;
  /**
   * Host names and CIDRs (or single addresses) reachable although refused by default: an
   * on-prem MinIO at 10.0.0.5 is reached by listing `10.0.0.5/32` or its host name. A listed
   * host name is trusted whatever it resolves to. @default none
   */
  allowedNetworks?: readonly string[];
  /**
   * Resolves a host name to every address it has (`dns.lookup` with `all: true`); injectable so
   * tests can make a name resolve to a private address without touching DNS. @default dns.lookup
   */
  resolve?: (hostname: string, callback: (error: Error | null, addresses: LookupAddress[]) => void) => void;
}

type Family = 'ipv4' | 'ipv6';

/** Address ranges no store endpoint may reach unless allow-listed, each with what it is. */
const REFUSED_RANGES: readonly { range: string; family: Family; what: string }[] = [
  { range: '0.0.0.0/8', family: 'ipv4', what: 'an unspecified ("this network") address' },
  { range: '10.0.0.0/8', family: 'ipv4', what: 'a private (RFC 1918) address' },
  { range: '100.64.0.0/10', family: 'ipv4', what: 'a carrier-grade NAT (RFC 6598) address' },
  { range: '127.0.0.0/8', family: 'ipv4', what: 'a loopback address' },
  { range: '169.254.0.0/16', family: 'ipv4', what: 'a link-local address (instance metadata lives there)' },
  { range: '172.16.0.0/12', family: 'ipv4', what: 'a private (RFC 1918) address' },
  { range: '192.0.0.0/24', family: 'ipv4', what: 'an IETF protocol-assignment address' },
  { range: '192.168.0.0/16', family: 'ipv4', what: 'a private (RFC 1918) address' },
  { range: '198.18.0.0/15', family: 'ipv4', what: 'a benchmarking address' },
  { range: '224.0.0.0/4', family: 'ipv4', what: 'a multicast address' },
  { range: '240.0.0.0/4', family: 'ipv4', what: 'a reserved or broadcast address' },
  { range: '::/128', family: 'ipv6', what: 'an unspecified address' },
  { range: '::1/128', family: 'ipv6', what: 'a loopback address' },
  { range: 'fc00::/7', family: 'ipv6', what: 'a unique local (ULA) address' },
  { range: 'fe80::/10', family: 'ipv6', what: 'a link-local address' },
  { range: 'fec0::/10', family: 'ipv6', what: 'a site-local address' },
  { range: 'ff00::/8', family: 'ipv6', what: 'a multicast address' },
];

const REFUSED = REFUSED_RANGES.map(({ range, family, what }) => {
  const list = new BlockList();
  const [network, prefix] = range.split('/') as [string, string];
  list.addSubnet(network, Number(prefix), family);
  return { list, what };
});

/** Names that resolve to loopback by definition (RFC 6761), refused before any DNS. */
const LOOPBACK_NAME = /^(localhost|[^/]*\.localhost)$/;
/** A DNS host name: labels of letters, digits and hyphens (no wildcard, no port). */
const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** One entry of `STORE_ENDPOINT_ALLOWED_NETWORKS`, or why it is not one. */
export function allowedNetworkProblem(entry: string): string | undefined {
  const [address, prefix, extra] = entry.split('/');
  if (extra !== undefined || address === undefined) return 'is not a host name or CIDR';
  const version = isIP(address);
  if (version === 0) {
    if (prefix !== undefined) return 'is not a CIDR: the network is not an IP address';
    return HOST_NAME.test(entry.toLowerCase()) ? undefined : 'is not a host name or CIDR';
  }
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  const most = version === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || bits > most) return `is not a CIDR: the prefix must be 0–${most}`;
  return undefined;
}

/** Splits `STORE_ENDPOINT_ALLOWED_NETWORKS` (comma-separated, blanks ignored). */
export function splitAllowedNetworks(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

/**
 * The policy's two settings, as every function that sends to stores declares them in its
 * environment schema (admin, presign, drift check, rotation): the constructs set both from the
 * `storeEndpointAllowHttp` and `storeEndpointAllowedNetworks` context keys. Unset means "as this
 * process's environment says" (`storeEndpointPolicy()`), which for a function is the same thing;
 * it lets a caller that builds an environment of its own (the CLI's tests, the local runner's
 * settings) leave the policy to the process.
 */
export const StoreEndpointEnvironment = {
  STORE_ENDPOINT_ALLOW_HTTP: z
    .optional(
      z.pipe(
        z.enum(['true', 'false']),
        z.transform((text) => text === 'true'),
      ),
    )
    .check(
      z.meta({ description: '`true` accepts `http` store endpoints (local runner, tests).', unset: 'false' }),
    ),
  STORE_ENDPOINT_ALLOWED_NETWORKS: z
    .optional(
      z.pipe(
        z.string(),
        z.transform((text, ctx) => {
          const entries = splitAllowedNetworks(text);
          for (const entry of entries) {
            const problem = allowedNetworkProblem(entry);
            if (problem !== undefined)
              ctx.issues.push({
                code: 'custom',
                message: `${JSON.stringify(entry)} ${problem}`,
                input: text,
              });
          }
          return entries;
        }),
      ),
    )
    .check(
      z.meta({
        description: 'Comma-separated host names and CIDRs store endpoints may reach although private.',
        unset: 'none',
      }),
    ),
};
const StoreEndpointEnvironmentSchema = z.object(StoreEndpointEnvironment);
export type StoreEndpointEnvironmentValues = z.output<typeof StoreEndpointEnvironmentSchema>;

/**
 * The store-endpoint policy: `https` only unless `allowHttp`; no userinfo, query or fragment in
 * a record's endpoint; no loopback, link-local (169.254.169.254 included), private, CGNAT, ULA,
 * multicast or unspecified address, in any spelling the URL parser accepts (`2130706433`,
 * `0x7f.1`, `[::ffff:127.0.0.1]`) or behind a host name, unless allow-listed. Checked twice: on
 * the URL where a record is accepted (`checkEndpoint`), and at connect time on every address a
 * name resolves to (`lookup`, used by the agents of every client that calls a store), so a name
 * that resolves to 10.x is refused however the record got in.
 */
export class StoreEndpointPolicy {
  readonly allowHttp: boolean;
  readonly allowedNetworks: readonly string[];
  private readonly allowedHosts = new Set<string>();
  private readonly allowed = new BlockList();
  private readonly resolve: NonNullable<StoreEndpointSettings['resolve']>;
  private agents: { http: HttpAgent; https: HttpsAgent } | undefined;

  constructor(settings: StoreEndpointSettings = {}) {
    this.allowHttp = settings.allowHttp ?? false;
    this.allowedNetworks = [...(settings.allowedNetworks ?? [])];
    for (const entry of this.allowedNetworks) {
      const problem = allowedNetworkProblem(entry);
      if (problem !== undefined) throw new RangeError(`allowed network ${JSON.stringify(entry)} ${problem}`);
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const version = isIP(address);
      if (version === 0) this.allowedHosts.add(hostKey(address));
      else if (prefix === undefined) this.allowed.addAddress(address, version === 4 ? 'ipv4' : 'ipv6');
      else this.allowed.addSubnet(address, Number(prefix), version === 4 ? 'ipv4' : 'ipv6');
    }
    this.resolve =
      settings.resolve ??
      ((hostname, callback) => dnsLookup(hostname, { all: true, verbatim: true }, callback));
  }

  /**
   * The policy of a function's parsed environment; one that sets neither variable leaves the
   * policy to the process's environment (`storeEndpointPolicy()`).
   */
  static fromEnvironment(environment: StoreEndpointEnvironmentValues): StoreEndpointPolicy {
    const { STORE_ENDPOINT_ALLOW_HTTP: allowHttp, STORE_ENDPOINT_ALLOWED_NETWORKS: allowedNetworks } =
      environment;
    if (allowHttp === undefined && allowedNetworks === undefined) return storeEndpointPolicy();
    return new StoreEndpointPolicy({
      ...(allowHttp === undefined ? {} : { allowHttp }),
      ...(allowedNetworks === undefined ? {} : { allowedNetworks }),
    });
  }

  /**
   * A record's `endpoint`, where it is accepted (admin register and patch, validate, the drift
   * check): the whole URL is checked. Throws `StoreEndpointRefusedError` naming `field`.
   */
  checkEndpoint(endpoint: string | URL, field = 'endpoint'): URL {
    const url = parseUrl(endpoint, field);
    if (url.username !== '' || url.password !== '') {
      throw new StoreEndpointRefusedError(`${field} must not carry userinfo (user:password@)`, field);
    }
    if (url.href.includes('?') || url.href.includes('#')) {
      throw new StoreEndpointRefusedError(`${field} must not carry a query or a fragment`, field);
    }
    this.checkTarget(url, field);
    return url;
  }

  /**
   * Where one request goes (its query is the protocol's own): the scheme and the host as written.
   * A host that is an IP address is checked here, since the connection to it makes no lookup.
   */
  checkTarget(target: string | URL, field = 'endpoint'): void {
    const url = parseUrl(target, field);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowHttp)) {
      throw new StoreEndpointRefusedError(
        url.protocol === 'http:'
          ? `${field} must use https: this deployment does not allow http store endpoints (STORE_ENDPOINT_ALLOW_HTTP)`
          : `${field} must be an https URL`,
        field,
      );
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (this.allowedHosts.has(hostKey(host))) return;
    if (isIP(host) !== 0) {
      this.checkAddress(host, `${field}'s host is`, field);
      return;
    }
    if (LOOPBACK_NAME.test(hostKey(host))) {
      throw new StoreEndpointRefusedError(
        `${field}'s host is a loopback name; list it in STORE_ENDPOINT_ALLOWED_NETWORKS to allow it`,
        field,
      );
    }
  }

  /** Whether `address` (an IP literal) may be connected to; throws naming what it is otherwise. */
  checkAddress(address: string, subject = 'the address is', field = 'endpoint'): void {
    const refusal = this.refusal(address);
    if (refusal !== undefined) {
      throw new StoreEndpointRefusedError(
        `${subject} ${refusal}, which store endpoints may not reach unless STORE_ENDPOINT_ALLOWED_NETWORKS lists it`,
        field,
      );
    }
  }

  /** What is wrong with connecting to `address`, or undefined when it may be reached. */
  refusal(address: string): string | undefined {
    const version = isIP(address);
    if (version === 0) return 'not an IP address';
    const family: Family = version === 4 ? 'ipv4' : 'ipv6';
    const embedded = family === 'ipv6' ? embeddedIpv4(address) : undefined;
    if (this.allowed.check(address, family)) return undefined;
    if (embedded !== undefined && this.allowed.check(embedded, 'ipv4')) return undefined;
    for (const { list, what } of REFUSED) {
      if (list.check(address, family)) return what;
      if (embedded !== undefined && list.check(embedded, 'ipv4')) return `${what} (embedded in IPv6)`;
    }
    return undefined;
  }

  /**
   * The connect-time check, as `net.connect`'s `lookup`: resolves the name and refuses the
   * connection when any of its addresses is refused (a name with one public and one private
   * address would otherwise win a race). An allow-listed name connects wherever it resolves.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname, (error, addresses) => {
      if (error !== null) {
        callback(error, '', 4);
        return;
      }
      if (!this.allowedHosts.has(hostKey(hostname))) {
        for (const { address } of addresses) {
          const refusal = this.refusal(address);
          if (refusal !== undefined) {
            const refused = new StoreEndpointRefusedError(
              `the store's host name resolves to ${refusal}, which store endpoints may not reach unless STORE_ENDPOINT_ALLOWED_NETWORKS lists it or its name`,
            );
            callback(refused as unknown as NodeJS.ErrnoException, '', 4);
            return;
          }
        }
      }
      const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
      const usable = addresses.filter((entry) => wanted === undefined || entry.family === wanted);
      if (options.all === true) {
        (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, usable);
        return;
      }
      const first = usable[0];
      if (first === undefined) {
        const none = Object.assign(new Error(`${hostname} has no address of the asked family`), {
          code: 'ENOTFOUND',
        });
        callback(none, '', 4);
        return;
      }
      callback(null, first.address, first.family);
    });
  };

  /**
   * Keep-alive agents whose every connection goes through `lookup` (one pair per policy, so
   * checked and unchecked connections never share a socket).
   */
  keepAliveAgents(): { http: HttpAgent; https: HttpsAgent } {
    this.agents ??= {
      http: new HttpAgent({ keepAlive: true, maxSockets: 50, lookup: this.lookup }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: 50, lookup: this.lookup }),
    };
    return this.agents;
  }

  /** An agent of its own (a store's CA or client certificate), checked as the shared ones are. */
  agent(secure: boolean, tls: HttpsAgentOptions = {}): HttpAgent | HttpsAgent {
    return secure ? new HttpsAgent({ ...tls, lookup: this.lookup }) : new HttpAgent({ lookup: this.lookup });
  }
}

let fromProcess: { key: string; policy: StoreEndpointPolicy } | undefined;

/**
 * The policy of this process's environment (`STORE_ENDPOINT_ALLOW_HTTP`,
 * `STORE_ENDPOINT_ALLOWED_NETWORKS`): what a store client uses when its wiring passes none. The
 * functions read the same variables through their environment schemas (a bad value fails their
 * cold start); the test harness sets them once for every test (test/support/store-endpoints.ts).
 */
export function storeEndpointPolicy(env: NodeJS.ProcessEnv = process.env): StoreEndpointPolicy {
  const key = `${env.STORE_ENDPOINT_ALLOW_HTTP ?? ''}\n${env.STORE_ENDPOINT_ALLOWED_NETWORKS ?? ''}`;
  if (fromProcess?.key === key) return fromProcess.policy;
  const parsed = StoreEndpointEnvironmentSchema.safeParse({
    STORE_ENDPOINT_ALLOW_HTTP: env.STORE_ENDPOINT_ALLOW_HTTP,
    STORE_ENDPOINT_ALLOWED_NETWORKS: env.STORE_ENDPOINT_ALLOWED_NETWORKS,
  });
  // Invalid settings fail the function's cold start (its schema); here they fall back to the
  // strict default rather than to something looser.
  const policy = parsed.success
    ? new StoreEndpointPolicy({
        allowHttp: parsed.data.STORE_ENDPOINT_ALLOW_HTTP ?? false,
        allowedNetworks: parsed.data.STORE_ENDPOINT_ALLOWED_NETWORKS ?? [],
      })
    : new StoreEndpointPolicy();
  fromProcess = { key, policy };
  return policy;
}

function parseUrl(value: string | URL, field: string): URL {
  if (value instanceof URL) return value;
  try {
    return new URL(value);
  } catch {
    throw new StoreEndpointRefusedError(`${field} must be an absolute URL`, field);
  }
}

/** Host names compare without case and without a trailing dot (`LOCALHOST.` is `localhost`). */
function hostKey(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/**
 * The IPv4 address inside an IPv6 one that carries it: IPv4-mapped `::ffff:a.b.c.d`, the old
 * IPv4-compatible `::a.b.c.d`, NAT64's `64:ff9b::a.b.c.d` and 6to4's `2002:AABB:CCDD::`.
 */
function embeddedIpv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (groups === undefined) return undefined;
  const group = (index: number) => groups[index] ?? 0;
  const quad = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  const zeroUpTo = (end: number) => groups.slice(0, end).every((value) => value === 0);
  if (zeroUpTo(5) && group(5) === 0xffff) return quad(group(6), group(7));
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
  if (zeroUpTo(6) && (group(6) !== 0 || group(7) > 1)) return quad(group(6), group(7));
  if (group(0) === 0x64 && group(1) === 0xff9b && groups.slice(2, 6).every((value) => value === 0)) {
    return quad(group(6), group(7));
  }
  if (group(0) === 0x2002) return quad(group(1), group(2));
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (one `net.isIP` accepts). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const missing = 8 - front.length - back.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...front, ...new Array<number>(missing).fill(0), ...back];
}
