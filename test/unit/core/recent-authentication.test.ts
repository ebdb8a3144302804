import { describe, expect, it } from 'vitest';
import { InsufficientUserAuthenticationError } from '../../../lambdas/core/errors.ts';
import { requireRecentSignIn, SIGN_IN_METHOD_CHANGE_MAX_AGE_SECONDS } from '../../../lambdas/core/recent-authentication.ts';

const NOW = 1_800_000_000;

describe('requireRecentSignIn', () => {
  it('accepts a sign-in up to the maximum age ago, the boundary included', () => {
    expect(() => requireRecentSignIn(NOW, NOW)).not.toThrow();
    expect(() => requireRecentSignIn(NOW - SIGN_IN_METHOD_CHANGE_MAX_AGE_SECONDS, NOW)).not.toThrow();
  });

  it('refuses an older sign-in with 403 insufficient_user_authentication naming the max_age', () => {
    const refuse = () => requireRecentSignIn(NOW - SIGN_IN_METHOD_CHANGE_MAX_AGE_SECONDS - 1, NOW);
    expect(refuse).toThrow(InsufficientUserAuthenticationError);
    expect(refuse).toThrow(/max_age=600/);
    try {
      refuse();
    } catch (error) {
      expect(error).toMatchObject({ code: 'insufficient_user_authentication', status: 403 });
    }
  });

  it('refuses when the authorizer passed no auth_time (fail closed), and honours a shorter maximum', () => {
    expect(() => requireRecentSignIn(undefined, NOW)).toThrow(InsufficientUserAuthenticationError);
    expect(() => requireRecentSignIn(NOW - 61, NOW, 60)).toThrow(/max_age=60/);
  });
});
