/**
 * A WebAuthn response as the browser sends it (`PublicKeyCredential.toJSON()`, WebAuthn Level 3
 * §5.1.8, what @simplewebauthn/browser returns), narrowed from `unknown`: the members SimpleWebAuthn
 * reads, each a base64url string of bounded length, copied into a fresh object. Anything missing or
 * of the wrong type is a 400 before any challenge is touched.
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { InvalidRequestError } from '../core/errors.ts';
import { isRecord } from '../core/is-record.ts';

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** The request body is capped at 8 KiB anyway; this names the member that is too long. */
const MAX_MEMBER = 6000;

const fail = (what: string): never => {
  throw new InvalidRequestError(`The field "response" must be a WebAuthn credential response (PublicKeyCredential JSON): ${what}.`);
};

function b64url(record: Readonly<Record<string, unknown>>, name: string, path: string): string {
  const value = record[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_MEMBER || !BASE64URL.test(value)) {
    return fail(`${path}${name} must be a non-empty base64url string`);
  }
  return value;
}

function optionalB64url(record: Readonly<Record<string, unknown>>, name: string, path: string): string | undefined {
  return record[name] === undefined || record[name] === null ? undefined : b64url(record, name, path);
}

function common(value: unknown): { readonly outer: Readonly<Record<string, unknown>>; readonly inner: Readonly<Record<string, unknown>> } {
  if (!isRecord(value)) return fail('not an object');
  if (value['type'] !== 'public-key') return fail('type must be "public-key"');
  const inner = value['response'];
  if (!isRecord(inner)) return fail('response must be an object');
  const extensions = value['clientExtensionResults'];
  if (extensions !== undefined && !isRecord(extensions)) return fail('clientExtensionResults must be an object');
  const attachment = value['authenticatorAttachment'];
  if (attachment !== undefined && attachment !== null && attachment !== 'platform' && attachment !== 'cross-platform') {
    return fail('authenticatorAttachment must be "platform" or "cross-platform"');
  }
  return { outer: value, inner };
}

function attachmentOf(outer: Readonly<Record<string, unknown>>): { authenticatorAttachment?: 'platform' | 'cross-platform' } {
  const attachment = outer['authenticatorAttachment'];
  return attachment === 'platform' || attachment === 'cross-platform' ? { authenticatorAttachment: attachment } : {};
}

export function registrationResponse(value: unknown): RegistrationResponseJSON {
  const { outer, inner } = common(value);
  const transports = inner['transports'];
  if (transports !== undefined && (!Array.isArray(transports) || transports.length > 10 || !transports.every((t) => typeof t === 'string' && t.length <= 32))) {
    return fail('response.transports must be a list of transport names');
  }
  const authenticatorData = optionalB64url(inner, 'authenticatorData', 'response.');
  return {
    id: b64url(outer, 'id', ''),
    rawId: b64url(outer, 'rawId', ''),
    type: 'public-key',
    clientExtensionResults: {},
    ...attachmentOf(outer),
    response: {
      clientDataJSON: b64url(inner, 'clientDataJSON', 'response.'),
      attestationObject: b64url(inner, 'attestationObject', 'response.'),
      ...(authenticatorData === undefined ? {} : { authenticatorData }),
      ...(transports === undefined ? {} : { transports: transports.map(String) }),
    },
  };
}

export function authenticationResponse(value: unknown): AuthenticationResponseJSON {
  const { outer, inner } = common(value);
  const userHandle = optionalB64url(inner, 'userHandle', 'response.');
  return {
    id: b64url(outer, 'id', ''),
    rawId: b64url(outer, 'rawId', ''),
    type: 'public-key',
    clientExtensionResults: {},
    ...attachmentOf(outer),
    response: {
      clientDataJSON: b64url(inner, 'clientDataJSON', 'response.'),
      authenticatorData: b64url(inner, 'authenticatorData', 'response.'),
      signature: b64url(inner, 'signature', 'response.'),
      ...(userHandle === undefined ? {} : { userHandle }),
    },
  };
}
