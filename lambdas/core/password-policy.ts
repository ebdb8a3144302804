/**
 * The rules a new password must meet, from NIST SP 800-63B-4 §3.1.1.2 ("Password Verifiers"):
 *
 *  - at least 15 characters, or 8 when the account has a second factor;
 *  - at least 64 allowed: this service allows up to MAX_PASSWORD_CHARACTERS (256), a bound that keeps
 *    the Argon2id input small while leaving room for any passphrase;
 *  - no composition rules (no "one digit, one symbol"): any Unicode character is allowed;
 *  - each Unicode code point counts as one character, after NFKC normalization (§3.1.1.2: the
 *    verifier SHOULD apply Normalization Form NFKC or NFKD before hashing);
 *  - refused when on a blocklist of commonly used, expected or compromised values, and when derived
 *    from context-specific words: the username and the service's name.
 *
 * The rules apply where a password is set (operator CLI, the local demo user); never at login, so a
 * user whose password predates them still signs in. Pure: no I/O, no clock, no randomness.
 */
import { dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as englishDictionary } from '@zxcvbn-ts/language-en';
import { InvalidPasswordError } from './errors.ts';
import { normalizePassword } from './password-normalization.ts';

export const MIN_PASSWORD_CHARACTERS = 15;
export const MIN_PASSWORD_CHARACTERS_WITH_SECOND_FACTOR = 8;
export const MAX_PASSWORD_CHARACTERS = 256;

/**
 * The name users know the service by, a context-specific word a password must not be derived from
 * (NIST SP 800-63B-4 §3.1.1.2).
 */
export const SERVICE_NAME = 'kms-jwt-auth';

export type PasswordRuleViolation = 'too_short' | 'too_long' | 'common' | 'derived_from_username' | 'derived_from_service';

export interface PasswordContext {
  readonly username: string;
  readonly serviceName: string;
  readonly hasSecondFactor: boolean;
}

export { normalizePassword };

/** Characters as NIST counts them: Unicode code points (an emoji is one, not two UTF-16 units). */
function codePoints(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}

/**
 * The blocklist: the `passwords-common` list of `@zxcvbn-ts/language-common` (passwords seen most
 * often in breaches) and, as dictionary words, the `commonWords-en` and `wikipedia-en` lists of
 * `@zxcvbn-ts/language-en`. Lower-cased; entries shorter than the smallest minimum length are left
 * out, since the length rule refuses them anyway. Built on first use.
 */
export const BLOCKLIST_SOURCES = {
  'passwords-common': commonDictionary['passwords-common'],
  'commonWords-en': englishDictionary['commonWords-en'],
  'wikipedia-en': englishDictionary['wikipedia-en'],
} as const;

let blocklist: ReadonlySet<string> | undefined;

function blocklisted(candidate: string): boolean {
  blocklist ??= new Set(
    Object.values(BLOCKLIST_SOURCES)
      .flat()
      .map((entry) => normalizePassword(entry).toLowerCase())
      .filter((entry) => codePoints(entry) >= MIN_PASSWORD_CHARACTERS_WITH_SECOND_FACTOR),
  );
  return blocklist.has(candidate);
}

/** Letters and digits only: "Pass word-1" and "password1" are the same guess. */
const alphanumeric = (value: string): string => value.replace(/[^\p{L}\p{N}]/gu, '');

const reversed = (value: string): string => [...value].reverse().join('');

/**
 * Derived from a context word (the username, the service's name): the password contains the word or
 * the word reversed (case-insensitive, ignoring spaces and punctuation), and what is left besides
 * is only digits or fewer than 8 letters and digits: "alice2024!", "ecila-alice", "Alice Alice
 * Alice!" are derived; "alice, correct horse battery" is not. Words shorter than 3 letters and
 * digits are not checked (they occur by chance in any long passphrase).
 */
function derivedFrom(password: string, word: string): boolean {
  const target = alphanumeric(normalizePassword(word).toLowerCase());
  if (codePoints(target) < 3) return false;
  const candidate = alphanumeric(password);
  const rest = candidate.split(target).join('').split(reversed(target)).join('');
  if (rest.length === candidate.length) return false;
  return codePoints(rest) < 8 || /^\p{N}*$/u.test(rest);
}

/**
 * Checks a new password against the rules above; `undefined` when it may be set. The password is
 * normalized here, so callers may pass what the user typed.
 */
export function checkNewPassword(password: string, context: PasswordContext): PasswordRuleViolation | undefined {
  const normalized = normalizePassword(password);
  const length = codePoints(normalized);
  const minimum = context.hasSecondFactor ? MIN_PASSWORD_CHARACTERS_WITH_SECOND_FACTOR : MIN_PASSWORD_CHARACTERS;
  if (length < minimum) return 'too_short';
  if (length > MAX_PASSWORD_CHARACTERS) return 'too_long';
  const lower = normalized.toLowerCase();
  if (blocklisted(lower) || blocklisted(alphanumeric(lower))) return 'common';
  if (derivedFrom(lower, context.username)) return 'derived_from_username';
  if (derivedFrom(lower, context.serviceName)) return 'derived_from_service';
  return undefined;
}

/** One sentence per rule, safe to show: it names the rule and never contains the password. */
export function describeViolation(violation: PasswordRuleViolation, hasSecondFactor: boolean): string {
  switch (violation) {
    case 'too_short':
      return `The password is too short: use at least ${hasSecondFactor ? MIN_PASSWORD_CHARACTERS_WITH_SECOND_FACTOR : MIN_PASSWORD_CHARACTERS} characters (a few words make a good passphrase).`;
    case 'too_long':
      return `The password is too long: use at most ${MAX_PASSWORD_CHARACTERS} characters.`;
    case 'common':
      return 'The password is on a list of commonly used or breached passwords: choose another.';
    case 'derived_from_username':
      return 'The password is derived from the username: choose one that does not contain it.';
    case 'derived_from_service':
      return "The password is derived from the service's name: choose one that does not contain it.";
  }
}

/**
 * For the places that set a password: the normalized password to hash, or an InvalidPasswordError
 * (400 `invalid_request`) whose description names the rule that failed.
 */
export function acceptNewPassword(password: string, context: PasswordContext): string {
  const violation = checkNewPassword(password, context);
  if (violation !== undefined) throw new InvalidPasswordError(violation, describeViolation(violation, context.hasSecondFactor));
  return normalizePassword(password);
}
