/**
 * The WebAuthn relying party of the functions that serve passkeys (login, account): its RP ID,
 * its name, and the origins whose pages may use its passkeys.
 *
 * - `PASSKEY_RP_ID`: a domain (WebAuthn Level 3 §5.1.3 / §13.4.9: the RP ID must be the origin's
 *   effective domain or a registrable suffix of it, and never an IP address). Default: the host of
 *   `ISSUER`, when that is a domain name.
 * - `PASSKEY_ORIGINS`: comma-separated origins (`https://app.example.com`); each must be on the RP
 *   ID or below it, and https except for `localhost` (a secure context). Default: the issuer's origin.
 * - `PASSKEY_RP_NAME`: the name authenticators show. Default: the RP ID.
 *
 * With an issuer on an IP address (a local run on 127.0.0.1) or on plain http, and no
 * `PASSKEY_RP_ID`, there is no valid default: passkeys are off and their routes say so (404).
 */
import { isIP } from 'node:net';
import { ConfigurationError } from '../core/errors.ts';
import type { PasskeyConfig } from '../core/config.ts';
import { commaList, issuerUrl, type EnvRecord } from './env.ts';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function isOnRpId(hostname: string, rpId: string): boolean {
  return hostname === rpId || hostname.endsWith(`.${rpId}`);
}

function parseOrigin(raw: string, rpId: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`PASSKEY_ORIGINS must list origins such as https://app.example.com, got "${raw}".`);
  }
  if (url.origin !== raw) {
    throw new ConfigurationError(`PASSKEY_ORIGINS must list bare origins (scheme, host, port; no path or trailing slash), got "${raw}" (did you mean "${url.origin}"?).`);
  }
  if (!isOnRpId(url.hostname, rpId)) {
    throw new ConfigurationError(`PASSKEY_ORIGINS: "${raw}" is not on the RP ID "${rpId}" or a subdomain of it (WebAuthn §5.1.3).`);
  }
  if (url.protocol !== 'https:' && url.hostname !== 'localhost') {
    throw new ConfigurationError(`PASSKEY_ORIGINS: "${raw}" must use https (WebAuthn needs a secure context; only localhost may use http).`);
  }
  return url.origin;
}

/** The relying party, or `undefined` when passkeys are off (no RP ID given, and the issuer's host is an IP address). */
export function parsePasskeyConfig(env: EnvRecord): PasskeyConfig | undefined {
  const issuer = new URL(issuerUrl(env));
  const configured = env['PASSKEY_RP_ID']?.trim();
  const rpId = configured === undefined || configured === '' ? issuer.hostname : configured;
  if (configured === undefined || configured === '') {
    // The default only where it is valid: a domain name (`URL` keeps IPv6 hosts in brackets) whose
    // origin is a secure context. Otherwise passkeys stay off until PASSKEY_RP_ID is set.
    if (isIP(rpId) !== 0 || rpId.startsWith('[') || !DOMAIN.test(rpId)) return undefined;
    if (commaList(env, 'PASSKEY_ORIGINS').length === 0 && issuer.protocol !== 'https:' && rpId !== 'localhost') return undefined;
  }
  if (!DOMAIN.test(rpId) || isIP(rpId) !== 0) {
    throw new ConfigurationError(`PASSKEY_RP_ID must be a lowercase domain name such as example.com (not a URL or an IP address), got "${rpId}".`);
  }
  const listed = commaList(env, 'PASSKEY_ORIGINS');
  const origins = (listed.length > 0 ? listed : [issuer.origin]).map((origin) => parseOrigin(origin, rpId));
  const rpName = env['PASSKEY_RP_NAME']?.trim() || rpId;
  if (rpName.length > 64) throw new ConfigurationError('PASSKEY_RP_NAME must be at most 64 characters.');
  return { rpId, rpName, origins };
}
