/**
 * Form-encoded token requests (RFC 6749 Appendix B, §3.2; RFC 7009 §2.1): parsed with the WHATWG
 * `URLSearchParams` parser, each parameter named once (compared after percent-decoding), empty
 * values treated as omitted (RFC 6749 §3.1), and only JSON or a form accepted at all.
 */
import { describe, expect, it } from 'vitest';
import { InvalidGrantError, InvalidRequestError } from '../../../lambdas/core/errors.ts';
import { assertIssuedToClient, formBody, tokenRequestBody } from '../../../lambdas/http/form.ts';

const event = (body: string, contentType = 'application/x-www-form-urlencoded', isBase64Encoded = false) => ({
  headers: { 'content-type': contentType },
  body: isBase64Encoded ? Buffer.from(body).toString('base64') : body,
  isBase64Encoded,
});

function rejection(run: () => unknown): InvalidRequestError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('formBody', () => {
  it('decodes percent-escapes and + as space', () => {
    expect(formBody(event('grant_type=refresh_token&refresh_token=a%2Db%5F&client_id=my+app'))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'a-b_',
      client_id: 'my app',
    });
  });

  it('reads a base64-encoded body as API Gateway delivers binary ones', () => {
    expect(formBody(event('token=abc', undefined, true))).toEqual({ token: 'abc' });
  });

  it.each([
    ['literally', 'refresh_token=a&refresh_token=a'],
    ['with different values', 'token=no-such-token&token=real'],
    ['percent-encoded the second time', 'refresh_token=a&refresh%5Ftoken=b'],
    ['percent-encoded both times, differently', '%72efresh_token=a&refresh%5ftoken=b'],
    ['once with an empty value', 'client_id=&client_id=someone'],
    ['an unknown parameter', 'grant_type=refresh_token&extra=1&extra=2'],
  ])('refuses a parameter named twice %s (RFC 6749 §3.2)', (_name, body) => {
    expect(rejection(() => formBody(event(body))).description).toMatch(/more than once/);
  });

  it('treats a parameter without a value as omitted (RFC 6749 §3.1)', () => {
    expect(formBody(event('grant_type=refresh_token&refresh_token=&client_id'))).toEqual({ grant_type: 'refresh_token' });
  });

  it('keeps a parameter named __proto__ as a plain own property, never a prototype', () => {
    const params = formBody(event('__proto__=x&token=t'));
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(Object.hasOwn(params, '__proto__')).toBe(true);
    expect(params['token']).toBe('t');
  });

  it('refuses an oversized body and invalid UTF-8 before parsing', () => {
    expect(rejection(() => formBody(event(`token=${'a'.repeat(9000)}`))).description).toMatch(/larger than/);
    const invalid = { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from([0x74, 0x3d, 0xff]).toString('base64'), isBase64Encoded: true };
    expect(rejection(() => formBody(invalid)).description).toMatch(/UTF-8/);
  });
});

describe('tokenRequestBody', () => {
  it('tells JSON and forms apart by content type, parameters such as charset allowed', () => {
    expect(tokenRequestBody(event('{"token":"a"}', 'application/json; charset=utf-8'))).toEqual({ encoding: 'json', params: { token: 'a' } });
    expect(tokenRequestBody(event('token=a', 'application/x-www-form-urlencoded;charset=UTF-8'))).toEqual({ encoding: 'form', params: { token: 'a' } });
  });

  it.each(['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencodedx', ''])(
    'refuses content type %j with 400 invalid_request',
    (contentType) => {
      const error = rejection(() => tokenRequestBody(event('token=a', contentType)));
      expect([error.status, error.code]).toEqual([400, 'invalid_request']);
    },
  );
});

describe('assertIssuedToClient', () => {
  it('accepts no client_id or the service client, and refuses another as invalid_grant', () => {
    expect(() => assertIssuedToClient(undefined, 'app')).not.toThrow();
    expect(() => assertIssuedToClient('app', 'app')).not.toThrow();
    expect(() => assertIssuedToClient('App', 'app')).toThrow(InvalidGrantError);
  });
});
