/**
 * Token-endpoint request bodies: JSON (this service's own clients) or
 * `application/x-www-form-urlencoded` (RFC 6749 Appendix B; what standard OAuth clients such as
 * AppAuth and openid-client send to the token endpoint, RFC 6749 §6, and to the revocation
 * endpoint, RFC 7009 §2.1). Any other content type is a 400 `invalid_request` (not 415), so every
 * refusal keeps the RFC 6749 §5.2 error body clients already parse.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { InvalidGrantError, InvalidRequestError } from '../core/errors.ts';
import { bodyText, header, isJson, jsonBody, type JsonObject } from './request.ts';

type BodyEvent = Pick<APIGatewayProxyEventV2, 'headers' | 'body' | 'isBase64Encoded'>;

export interface TokenRequestBody {
  readonly encoding: 'json' | 'form';
  /** JSON members, or form parameters as strings; own properties only. */
  readonly params: JsonObject;
}

/** The form media type; parameters such as `charset=UTF-8` (openid-client sends it) are allowed. */
export function isForm(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType.trim());
}

/**
 * Parses a form body with the WHATWG `URLSearchParams` parser (percent-decoding, `+` as space),
 * after the same size and UTF-8 checks as JSON bodies.
 */
export function formBody(event: BodyEvent): JsonObject {
  if (!isForm(header(event, 'content-type'))) {
    throw new InvalidRequestError('The request body must be a form, sent with Content-Type: application/x-www-form-urlencoded.');
  }
  const seen = new Set<string>();
  const entries: [string, string][] = [];
  for (const [name, value] of new URLSearchParams(bodyText(event))) {
    // RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
    // Names are compared once decoded, so `refresh%5Ftoken` is `refresh_token` a second time.
    if (seen.has(name)) throw new InvalidRequestError('The request body names a parameter more than once.');
    seen.add(name);
    // RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted."
    if (value !== '') entries.push([name, value]);
  }
  // `Object.fromEntries` defines own data properties: a parameter named `__proto__` is only a name.
  return Object.fromEntries(entries);
}

/** The body of a token or revocation request, JSON or form, told apart by its content type. */
export function tokenRequestBody(event: BodyEvent): TokenRequestBody {
  const contentType = header(event, 'content-type');
  if (isJson(contentType)) return { encoding: 'json', params: jsonBody(event) };
  if (isForm(contentType)) return { encoding: 'form', params: formBody(event) };
  throw new InvalidRequestError(
    'The request body must be JSON (Content-Type: application/json) or a form (Content-Type: application/x-www-form-urlencoded).',
  );
}

/**
 * A public client names itself with `client_id` (RFC 6749 §2.3, §3.2.1). Every token of this
 * service is issued to its one configured client, so another client_id presents a token "issued
 * to another client": `invalid_grant` (RFC 6749 §5.2); RFC 7009 §2.1 refuses such a revocation too.
 * Checked before anything is read or written, so the refusal changes nothing.
 */
export function assertIssuedToClient(presented: string | undefined, serviceClientId: string): void {
  if (presented !== undefined && presented !== serviceClientId) {
    throw new InvalidGrantError('The token was not issued to this client_id.');
  }
}
