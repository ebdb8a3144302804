/** TOTP (RFC 6238) and recovery codes: the pure rules, against the RFC's own test vectors. */
import { describe, expect, it } from 'vitest';
import { canonicalRecoveryCode, hashRecoveryCode, newRecoveryCodes, RECOVERY_CODE_COUNT } from '../../../lambdas/core/recovery-codes.ts';
import { matchingStep, timeStep, totpProvisioning } from '../../../lambdas/core/totp.ts';

/** RFC 6238 Appendix B: the SHA-1 seed, ASCII "12345678901234567890". */
const RFC_SECRET = new TextEncoder().encode('12345678901234567890');

describe('TOTP (RFC 6238, SHA-1, 6 digits, 30 s)', () => {
  // Appendix B lists 8-digit values; 6 digits are their last six (RFC 4226 §5.3 truncation mod 10^6).
  it.each([
    [59, '287082'],
    [1111111109, '081804'],
    [1111111111, '050471'],
    [1234567890, '005924'],
    [2000000000, '279037'],
  ])('matches the RFC 6238 Appendix B vector at T = %i s', (seconds, code) => {
    expect(matchingStep(RFC_SECRET, code, seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it('accepts one step either side and no further, returning the step the code belongs to', () => {
    const at = 1111111109 * 1000; // step 37037036
    const code = '081804';
    expect(matchingStep(RFC_SECRET, code, at + 30_000)).toBe(timeStep(at));
    expect(matchingStep(RFC_SECRET, code, at - 30_000)).toBe(timeStep(at));
    expect(matchingStep(RFC_SECRET, code, at + 60_000)).toBeUndefined();
    expect(matchingStep(RFC_SECRET, code, at - 60_000)).toBeUndefined();
  });

  it('matches nothing but six ASCII digits', () => {
    for (const code of ['', '28708', '2870820', ' 287082', '287082 ', '２８７０８２', '28708a', '-287082']) {
      expect(matchingStep(RFC_SECRET, code, 59_000), JSON.stringify(code)).toBeUndefined();
    }
  });

  it('provisions a base32 secret and an otpauth URI naming the issuer, the account and the parameters', () => {
    const { secret, otpauthUri } = totpProvisioning(RFC_SECRET, 'kms-jwt-auth', 'alice');
    expect(secret).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(otpauthUri).toBe('otpauth://totp/kms-jwt-auth:alice?issuer=kms-jwt-auth&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30');
  });
});

describe('recovery codes', () => {
  const random = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);

  it('are ten codes of 16 Crockford base32 characters in groups of four (80 bits each)', () => {
    let counter = 0;
    const codes = newRecoveryCodes((n) => Uint8Array.from({ length: n }, () => (counter += 29) & 0xff));
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(newRecoveryCodes(random)[0]).toHaveLength(19);
  });

  it('are read back ignoring case, spaces and hyphens, with I, L and O as 1, 1 and 0', () => {
    expect(canonicalRecoveryCode('abcd-efgh-jkmn-pqrs')).toBe('ABCDEFGHJKMNPQRS');
    expect(canonicalRecoveryCode(' ABCD EFGH JKMN PQRS ')).toBe('ABCDEFGHJKMNPQRS');
    expect(canonicalRecoveryCode('OILO-EFGH-JKMN-PQRS')).toBe('0110EFGHJKMNPQRS');
    for (const bad of ['', 'ABCD-EFGH-JKMN', 'ABCD-EFGH-JKMN-PQRSU', 'ABCD-EFGH-JKMN-PQR!', 'ABCD-EFGH-JKMN-PQRU']) {
      expect(canonicalRecoveryCode(bad), bad).toBeUndefined();
    }
  });

  it('hash to SHA-256, base64url, one hash per canonical code', () => {
    expect(hashRecoveryCode('ABCDEFGHJKMNPQRS')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hashRecoveryCode('ABCDEFGHJKMNPQRS')).not.toBe(hashRecoveryCode('ABCDEFGHJKMNPQRT'));
  });
});
