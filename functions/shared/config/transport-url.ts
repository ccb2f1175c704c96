import * as z from 'zod/mini';

/**
 * Whether `hostname` (as `URL.hostname` gives it) names this machine: `localhost`, 127.0.0.0/8 or
 * `::1`. Plain http stays on the machine there (a Vault agent sidecar, the tests' fakes); any
 * other host is reached over a network someone else may read.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether `url` is https, or plain http to this machine (see `isLoopbackHost`). */
export function isSecureTransport(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * An endpoint the broker sends credentials to (a Vault token, a signed AWS request, a Google
 * bearer token): `https://…`, or `http://` to a loopback address only, and no user name or
 * password in the URL. Checked at cold start, so an environment edited after the synth (or a
 * CLI run) cannot send them in the clear.
 */
export const secureEndpointUrl = () =>
  z.url({ protocol: /^https?$/ }).check(
    z.refine((text) => {
      const url = new URL(text);
      return isSecureTransport(url) && url.username === '' && url.password === '';
    }, 'must be an https:// URL (plain http only to a loopback address), without user info'),
  );
