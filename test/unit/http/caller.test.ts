/**
 * The caller named by the Lambda authorizer's context (HTTP API payload 2.0,
 * `requestContext.authorizer.lambda`): `amr` and `auth_time` are optional, read as the authorizer
 * passes them (space-joined RFC 8176 values; decimal epoch seconds), never trusted in another shape.
 */
import { describe, expect, it } from 'vitest';
import { authorizedCaller } from '../../../lambdas/http/caller.ts';

const withContext = (lambda: Record<string, unknown>) => ({ requestContext: { authorizer: { lambda } } });

describe('authorizedCaller', () => {
  it('reads sub and sid, and amr and auth_time when the authorizer passes them', () => {
    expect(authorizedCaller(withContext({ sub: 'u1', sid: 's1', amr: 'pwd otp mfa', auth_time: '1700000000' }))).toEqual({
      sub: 'u1',
      sid: 's1',
      amr: ['pwd', 'otp', 'mfa'],
      authTime: 1700000000,
    });
  });

  it('without amr or auth_time: no methods and no time (a route that needs mfa refuses)', () => {
    expect(authorizedCaller(withContext({ sub: 'u1', sid: 's1' }))).toEqual({ sub: 'u1', sid: 's1', amr: [], authTime: undefined });
  });

  it.each([
    ['an amr that is not a string', { amr: ['mfa'] }, [], undefined],
    ['an empty amr', { amr: '' }, [], undefined],
    ['extra spaces', { amr: ' pwd  mfa ' }, ['pwd', 'mfa'], undefined],
    ['a non-decimal auth_time', { auth_time: '1e9' }, [], undefined],
    ['a negative auth_time', { auth_time: '-5' }, [], undefined],
    ['a numeric auth_time (REST API context values)', { auth_time: 1700000000 }, [], 1700000000],
  ])('%s', (_name, extra, amr, authTime) => {
    expect(authorizedCaller(withContext({ sub: 'u1', sid: 's1', ...extra }))).toMatchObject({ amr, authTime });
  });

  it('refuses a context without a sub (401 invalid_token)', () => {
    expect(() => authorizedCaller(withContext({ sid: 's1', amr: 'mfa' }))).toThrow(expect.objectContaining({ code: 'invalid_token', status: 401 }));
  });
});
