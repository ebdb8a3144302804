import { describe, expect, it } from 'vitest';
import { InvalidPasswordError } from '../../../lambdas/core/errors.ts';
import {
  acceptNewPassword,
  BLOCKLIST_SOURCES,
  checkNewPassword,
  MAX_PASSWORD_CHARACTERS,
  normalizePassword,
} from '../../../lambdas/core/password-policy.ts';

const alice = { username: 'alice', serviceName: 'kms-jwt-auth', hasSecondFactor: false };
const check = (password: string, context = alice) => checkNewPassword(password, context);

describe('length (NIST SP 800-63B-4 §3.1.1.2)', () => {
  it('needs 15 characters without a second factor, 8 with one', () => {
    expect(check('fourteen chars')).toBe('too_short'); // 14
    expect(check('fifteen chars!!')).toBeUndefined(); // 15
    expect(check('seven c', { ...alice, hasSecondFactor: true })).toBe('too_short');
    expect(check('eight ch', { ...alice, hasSecondFactor: true })).toBeUndefined();
  });

  it('allows at least 64 characters, up to 256, and refuses more', () => {
    expect(check('x'.repeat(40) + ' a long passphrase is fine here ' + 'y'.repeat(40))).toBeUndefined();
    const words = 'unicorn lantern ribbon marble ';
    expect(check(words.repeat(9).slice(0, MAX_PASSWORD_CHARACTERS))).toBeUndefined();
    expect(check(words.repeat(9).slice(0, MAX_PASSWORD_CHARACTERS + 1))).toBe('too_long');
  });

  it('counts Unicode code points: an emoji is one character, not two UTF-16 units', () => {
    const sevenKeys = '🔑'.repeat(7);
    expect(sevenKeys.length).toBe(14);
    expect(check(`${sevenKeys}🗝x`, { ...alice, hasSecondFactor: true })).toBeUndefined(); // 9 code points
    expect(check('🔑'.repeat(14))).toBe('too_short'); // 28 UTF-16 units, 14 code points
    expect(check('🔑'.repeat(15))).toBeUndefined();
  });

  it('counts after NFKC: a ligature counts as the letters it stands for', () => {
    // U+FB03 "ﬃ" is three characters after NFKC.
    expect(check('oﬃce party plan')).toBeUndefined(); // 15 code points raw, 17 normalized
    expect(check('ﬃﬃﬃﬃﬃ')).toBeUndefined(); // 5 raw, 15 normalized
  });

  it('has no composition rules: lower-case letters and spaces only are fine', () => {
    expect(check('plain lower case words only')).toBeUndefined();
  });
});

describe('NFKC normalization', () => {
  it('maps compatibility forms to one password and leaves ASCII unchanged', () => {
    expect(normalizePassword('ｃｏｒｒｅｃｔ')).toBe('correct'); // full-width
    expect(normalizePassword('cafe\u0301')).toBe('caf\u00e9'); // combining accent → precomposed
    expect(normalizePassword('ﬁne')).toBe('fine');
    const ascii = `correct horse battery staple !"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~ 0123456789`;
    expect(normalizePassword(ascii)).toBe(ascii);
  });

  it('acceptNewPassword returns the normalized form, which is what gets hashed', () => {
    expect(acceptNewPassword('ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ', alice)).toBe('correct horse battery');
  });
});

describe('the blocklist', () => {
  it('is the zxcvbn-ts passwords-common list plus the English common-word and Wikipedia lists', () => {
    expect(BLOCKLIST_SOURCES['passwords-common'].length).toBe(49_233);
    expect(BLOCKLIST_SOURCES['commonWords-en'].length).toBe(55_830);
    expect(BLOCKLIST_SOURCES['wikipedia-en'].length).toBe(29_782);
  });

  it('refuses listed passwords, case-insensitively and ignoring separators, and their NFKC equivalents', () => {
    for (const common of ['1qaz2wsx3edc4rfv', 'PasswordPassword', 'qwerty 123456789', 'Ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ']) {
      expect(check(common), common).toBe('common');
    }
    expect(check('password', { ...alice, hasSecondFactor: true })).toBe('common');
    expect(check('responsibilities')).toBe('common'); // a dictionary word
  });

  it('accepts a passphrase that is not on it', () => {
    expect(check('correct horse battery staple')).toBeUndefined();
  });
});

describe('context-specific words', () => {
  it('refuses passwords derived from the username', () => {
    for (const derived of ['alice2024alice2024', 'Alice Alice Alice!', 'ecila-alice-ecila', 'alice-1234567890123', 'ALICE.alice.ALICE']) {
      expect(check(derived), derived).toBe('derived_from_username');
    }
  });

  it("refuses passwords derived from the service's name", () => {
    for (const derived of ['kms-jwt-auth-2024!', 'KmsJwtAuth KmsJwtAuth', 'kmsjwtauth 2025 2026']) {
      expect(check(derived), derived).toBe('derived_from_service');
    }
  });

  it('accepts a passphrase that merely contains the username among other words', () => {
    expect(check('alice, correct horse battery')).toBeUndefined();
    expect(check('client library demo password', { ...alice, username: 'demo' })).toBeUndefined();
  });

  it('ignores very short usernames, which occur by chance in any passphrase', () => {
    expect(check('alalalalalalalal', { ...alice, username: 'al' })).toBeUndefined();
  });
});

describe('acceptNewPassword', () => {
  it('throws a 400 invalid_request naming the rule, never containing the password', () => {
    const password = 'alice2024alice2024';
    let caught: unknown;
    try {
      acceptNewPassword(password, alice);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidPasswordError);
    const error = caught as InvalidPasswordError;
    expect(error).toMatchObject({ code: 'invalid_request', status: 400, rule: 'derived_from_username' });
    expect(error.description).toMatch(/derived from the username/);
    expect(error.description).not.toContain(password);
    expect(error.message).not.toContain('2024');
  });
});
