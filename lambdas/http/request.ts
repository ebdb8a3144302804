/**
 * Turning an API Gateway HTTP API (payload 2.0) event into validated input. Everything is
 * `unknown` until narrowed; sizes are capped before parsing; every failure is a 400
 * `invalid_request` with a sentence saying what is wrong, and nothing has been done yet.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { InvalidRequestError } from '../core/errors.ts';
import { DuplicateMemberNameError, parseStrictJson, StrictJsonError } from '../core/strict-json.ts';

/** Token requests are small; anything larger is not one of ours (and a cheap DoS otherwise). */
export const MAX_BODY_BYTES = 8 * 1024;

export type JsonObject = Readonly<Record<string, unknown>>;

export function header(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const headers: unknown = event.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && typeof value === 'string') return value;
  }
  return undefined;
}

/** RFC 8259 §11 media type; parameters such as charset=utf-8 are allowed. */
export function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());
}

/** Parses a JSON object body after checking content type and size. */
export function jsonBody(event: Pick<APIGatewayProxyEventV2, 'headers' | 'body' | 'isBase64Encoded'>): JsonObject {
  if (!isJson(header(event, 'content-type'))) {
    throw new InvalidRequestError('The request body must be JSON, sent with Content-Type: application/json.');
  }
  const text = bodyText(event);
  let parsed: unknown;
  try {
    // Never `JSON.parse`: it lets the last of two same-named members win, in any spelling.
    parsed = parseStrictJson(text);
  } catch (error) {
    if (error instanceof DuplicateMemberNameError) {
      throw new InvalidRequestError('The request body names a member more than once.');
    }
    if (error instanceof StrictJsonError) throw new InvalidRequestError('The request body is not valid JSON.');
    throw error;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidRequestError('The request body must be a JSON object.');
  }
  return parsed as JsonObject;
}

/** The body as text: present, at most MAX_BODY_BYTES once decoded, valid UTF-8. */
export function bodyText(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): string {
  const raw: unknown = event.body;
  if (typeof raw !== 'string' || raw.length === 0) throw new InvalidRequestError('The request body is missing.');
  if (raw.length > (event.isBase64Encoded === true ? Math.ceil((MAX_BODY_BYTES * 4) / 3) + 4 : MAX_BODY_BYTES)) {
    throw new InvalidRequestError(`The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  const bytes = event.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new InvalidRequestError(`The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidRequestError('The request body is not valid UTF-8.');
  }
}

/**
 * For routes that take no input (POST /logout-all, POST /refresh/revoke): no body, or an empty
 * JSON object. Anything else (a member, a duplicate, not JSON) is a 400 before anything is done.
 */
export function emptyBody(event: Pick<APIGatewayProxyEventV2, 'headers' | 'body' | 'isBase64Encoded'>): void {
  if (typeof event.body === 'string' && event.body.length > 0) onlyFields(jsonBody(event), []);
}

interface StringRule {
  readonly maxLength: number;
  readonly minLength?: number;
  readonly pattern?: RegExp;
  readonly patternHint?: string;
}

export function requiredString(body: JsonObject, name: string, rule: StringRule): string {
  const value = optionalString(body, name, rule);
  if (value === undefined) throw new InvalidRequestError(`The field "${name}" is required.`);
  return value;
}

export function optionalString(body: JsonObject, name: string, rule: StringRule): string | undefined {
  if (!Object.hasOwn(body, name)) return undefined;
  const value = body[name];
  if (typeof value !== 'string') throw new InvalidRequestError(`The field "${name}" must be a string.`);
  if (value.length < (rule.minLength ?? 1)) throw new InvalidRequestError(`The field "${name}" must not be empty.`);
  if (value.length > rule.maxLength) {
    throw new InvalidRequestError(`The field "${name}" is longer than ${rule.maxLength} characters.`);
  }
  if (rule.pattern !== undefined && !rule.pattern.test(value)) {
    throw new InvalidRequestError(`The field "${name}" ${rule.patternHint ?? 'has an invalid format'}.`);
  }
  return value;
}

/** Rejects members we do not know, so typos and smuggled parameters fail loudly. */
export function onlyFields(body: JsonObject, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 3).map((key) => JSON.stringify(key.slice(0, 40))).join(', ');
    throw new InvalidRequestError(`Unknown field(s) ${shown}; allowed: ${allowed.join(', ')}.`);
  }
}

export function sourceIp(event: Pick<APIGatewayProxyEventV2, 'requestContext'>): string {
  const ip: unknown = event.requestContext?.http?.sourceIp;
  return typeof ip === 'string' && ip.length > 0 && ip.length <= 64 ? ip : 'unknown';
}
