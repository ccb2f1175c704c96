import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether an IP literal is this machine's loopback (127.0.0.0/8 or ::1). Names are not: a name
 * other than `localhost` may resolve anywhere.
 */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Whether a URL's host (as `URL.hostname` spells it, IPv6 in brackets) is this machine:
 * `localhost`, 127.0.0.0/8 or [::1]. Plain `http` is acceptable to such a host alone, since
 * nothing between the two ends can read or change the traffic.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const bare = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || isLoopbackAddress(bare);
}
