/**
 * A signed-in user's own TOTP factor (RFC 6238): enrol, confirm, remove. The caller's account is
 * already established (core/account.ts); these rules decide what may change.
 *
 * - Enrol: a new 160-bit secret, sealed under the MFA key (KMS Encrypt) before anything is stored,
 *   kept as a pending enrolment for ENROLMENT_TTL_SECONDS. The response is the only time the secret
 *   leaves the service (as base32 and as an `otpauth://` URI for a QR code). Enrolling again before
 *   confirming replaces the pending secret.
 * - Confirm with a code from the app: proves the app holds the secret. In one transaction the
 *   factor is stored (with that code's step as already used), ten recovery codes (hashes only)
 *   are stored and the pending enrolment is deleted. The codes are shown this once.
 * - Remove with a current code or a recovery code, consumed in the same transaction that deletes
 *   the factor, its recovery codes and any pending enrolment. Each attempt is counted on the login
 *   throttle first, as a password attempt is: a stolen session cannot guess codes to strip the
 *   factor (429 once the per-user+IP, per-user or per-IP limit is reached).
 *
 * A wrong code is a 400 `invalid_request` that changes nothing; a KMS or DynamoDB failure is a 503
 * with nothing written.
 */
import { encode } from './base64url.ts';
import { InvalidRequestError, NotFoundError } from './errors.ts';
import type { Clock, FactorProof, RandomSource, SecondFactorStore, SecretSealer } from './ports.ts';
import { canonicalRecoveryCode, hashRecoveryCode, newRecoveryCodes } from './recovery-codes.ts';
import { matchingStep, TOTP_SECRET_BYTES, totpProvisioning } from './totp.ts';
import type { MfaProofInput } from './mfa-login.ts';
import type { LoginThrottle } from './login-throttle.ts';

/** A pending enrolment waits this long for its first code. */
export const ENROLMENT_TTL_SECONDS = 900;

export interface TotpDeps {
  readonly secondFactors: SecondFactorStore;
  readonly sealer: SecretSealer;
  readonly clock: Clock;
  readonly random: RandomSource;
}

export interface TotpAccount {
  readonly sub: string;
  readonly username: string;
}

const WRONG_CODE = 'The code is incorrect or was already used.';

export async function enrolTotp(account: TotpAccount, issuer: string, deps: TotpDeps): Promise<{ secret: string; otpauthUri: string }> {
  if ((await deps.secondFactors.findTotp(account.sub)) !== undefined) {
    throw new InvalidRequestError('TOTP is already on for this account; remove it first to enrol a new authenticator.');
  }
  const secret = deps.random.bytes(TOTP_SECRET_BYTES);
  const sealedSecret = await deps.sealer.seal(account.sub, secret);
  const nowSeconds = Math.floor(deps.clock.nowMs() / 1000);
  await deps.secondFactors.savePendingTotp({ sub: account.sub, sealedSecret, expiresAt: nowSeconds + ENROLMENT_TTL_SECONDS });
  return totpProvisioning(secret, issuer, account.username);
}

export async function confirmTotp(account: TotpAccount, otp: string, deps: TotpDeps): Promise<readonly string[]> {
  const nowMs = deps.clock.nowMs();
  const nowSeconds = Math.floor(nowMs / 1000);
  const pending = await deps.secondFactors.findPendingTotp(account.sub, nowSeconds);
  if (pending === undefined) throw new InvalidRequestError('No TOTP enrolment is waiting for a code; start with POST /mfa/totp/enroll.');
  const secret = await deps.sealer.open(account.sub, pending.sealedSecret);
  const step = matchingStep(secret, otp, nowMs);
  if (step === undefined) throw new InvalidRequestError(WRONG_CODE);
  const codes = newRecoveryCodes((n) => deps.random.bytes(n));
  const factorId = encode(deps.random.bytes(12));
  const confirmed = await deps.secondFactors.confirmTotp(
    { sub: account.sub, factorId, sealedSecret: pending.sealedSecret, lastStep: step },
    pending.sealedSecret,
    codes.map((code) => hashRecoveryCode(canonicalRecoveryCode(code) ?? code)),
    nowSeconds,
  );
  if (!confirmed) throw new InvalidRequestError('TOTP is already on for this account, or the enrolment changed meanwhile; enrol again.');
  return codes;
}

/** Removes the factor; returns whether a recovery code was used (for the audit line). */
export async function removeTotp(
  account: TotpAccount,
  input: MfaProofInput,
  sourceIp: string,
  deps: TotpDeps & { readonly throttle: LoginThrottle },
): Promise<{ usedRecoveryCode: boolean }> {
  const nowMs = deps.clock.nowMs();
  const factor = await deps.secondFactors.findTotp(account.sub);
  if (factor === undefined) throw new NotFoundError('TOTP is not on for this account.');
  // Counted before the code is checked; a removal keeps its attempt (it happens once).
  await deps.throttle.admit({ username: account.username, sourceIp }, nowMs);
  let proof: FactorProof | undefined;
  if ('otp' in input) {
    const secret = await deps.sealer.open(account.sub, factor.sealedSecret);
    const step = matchingStep(secret, input.otp, nowMs);
    if (step !== undefined && step > factor.lastStep) proof = { kind: 'otp', factorId: factor.factorId, step };
  } else {
    const canonical = canonicalRecoveryCode(input.recoveryCode);
    if (canonical !== undefined) proof = { kind: 'recovery_code', factorId: factor.factorId, codeHash: hashRecoveryCode(canonical) };
  }
  if (proof === undefined || !(await deps.secondFactors.removeTotp(account.sub, proof))) throw new InvalidRequestError(WRONG_CODE);
  return { usedRecoveryCode: proof.kind === 'recovery_code' };
}

