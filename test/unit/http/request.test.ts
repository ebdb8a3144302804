/**
 * Request bodies name each member once (RFC 6749 §3.2 for parameters; README "Endpoints"): `JSON.parse` keeps the last of two
 * members with the same name, so `{"username":"nobody","username":"demo"}` would log in as demo
 * while a log line, a WAF or a proxy reading the first one saw "nobody". A name is the same name
 * whatever its spelling: `"user\u006eame"` is `username` (RFC 8259 §7).
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../../lambdas/core/errors.ts';
import { jsonBody } from '../../../lambdas/http/request.ts';

const event = (body: string, isBase64Encoded = false) => ({
  headers: { 'content-type': 'application/json' },
  body: isBase64Encoded ? Buffer.from(body).toString('base64') : body,
  isBase64Encoded,
});

function rejection(body: string, isBase64Encoded = false): InvalidRequestError {
  try {
    jsonBody(event(body, isBase64Encoded));
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error(`accepted ${body}`);
}

describe('jsonBody refuses a body that names a member twice', () => {
  it.each([
    ['the same name twice, last one would win', '{"username":"nobody","username":"demo","password":"p"}'],
    ['the same name twice with the same value', '{"token":"a","token":"a"}'],
    ['an escaped spelling of a name already given', '{"username":"nobody","user\\u006eame":"demo","password":"p"}'],
    ['two different escaped spellings', '{"\\u0075sername":"nobody","user\\u006Eame":"demo","password":"p"}'],
    ['a solidus escape', '{"a/b":1,"a\\/b":2}'],
    ['a duplicate inside a nested object', '{"username":"demo","password":"p","scope":{"x":1,"x":2}}'],
    ['a duplicate inside an object in an array', '{"token":[{"a":1},{"b":1,"b":2}]}'],
    ['"__proto__" twice', '{"__proto__":{},"__proto__":{"admin":true},"token":"x"}'],
    ['a duplicate separated by whitespace', '{ "refresh_token" : "a" ,\n\t"refresh_token" : "b" }'],
  ])('%s: 400 invalid_request', (_name, body) => {
    const error = rejection(body);
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.description).toMatch(/more than once/);
  });

  it('refuses a duplicate in a base64-encoded body (API Gateway binary bodies) the same way', () => {
    expect(rejection('{"token":"a","token":"b"}', true).description).toMatch(/more than once/);
  });
});

describe('jsonBody still accepts what is one member per name', () => {
  it.each([
    ['the same name in different objects', '{"a":{"b":1},"b":{"a":2}}', { a: { b: 1 }, b: { a: 2 } }],
    ['colons and quotes inside strings', '{"password":"a\\":\\"b:c","username":"x:y"}', { password: 'a":"b:c', username: 'x:y' }],
    ['a name that differs only in case', '{"token":"a","Token":"b"}', { token: 'a', Token: 'b' }],
    ['escapes that spell different names', '{"user\\u006eame":"a","usernam\\u0065s":"b"}', { username: 'a', usernames: 'b' }],
  ])('%s', (_name, body, expected) => {
    expect(jsonBody(event(body))).toEqual(expected);
  });

  it('keeps "__proto__" a plain member that never reaches Object.prototype', () => {
    const parsed = jsonBody(event('{"__proto__":{"admin":true}}'));
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
  });
});

describe('jsonBody: other malformed JSON is still 400 invalid_request', () => {
  it.each([
    ['truncated', '{"username":'],
    ['trailing garbage', '{"token":"a"} x'],
    ['a lone surrogate escape (not encodable as UTF-8, RFC 8259 §8.2)', '{"password":"\\ud800"}'],
    ['an array', '[{"token":"a"}]'],
  ])('%s', (_name, body) => {
    expect(rejection(body).status).toBe(400);
  });
});
