import * as z from 'zod/mini';
import { isLoopbackHostname } from './loopback';

/** Whether `url` is https, or plain http to this machine (`isLoopbackHostname`). */
export function isSecureTransport(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHostname(url.hostname));
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
