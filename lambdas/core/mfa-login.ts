/**
 * The second step of a login for a user with a TOTP factor (RFC 6238).
 *
 * Step 1 (POST /login, core/login.ts): the password is right, so instead of tokens the client gets
 * an `mfa_token`: 256 random bits, of which only the SHA-256 is stored (core/token-hash.ts), in a
 * challenge that lives 5 minutes and records everything step 1 decided (user, granted scope,
 * client, token delivery, whether the device was trusted). The challenge carries no secret.
 *
 * Step 2 (POST /login/mfa): `{ mfa_token, otp | recovery_code }`.
 *   1. Find the challenge (absent, expired, or already failed MAX_FAILURES times: 401).
 *   2. Count the attempt on the login throttle before checking the code, exactly as a password
 *      attempt (core/login-throttle.ts): a trusted device's own allowance, else the per-user+IP,
 *      per-user and per-IP counters. Wrong codes therefore run into the same 429 as wrong passwords.
 *   3. Read the factor, open its secret (KMS Decrypt, context bound to the user) and find the code's
 *      time step; or hash the recovery code.
 *   4. Sign the access token (core/session-start.ts), then in one DynamoDB transaction delete the
 *      challenge (only if still there and unexpired: concurrent uses of one mfa_token have one
 *      winner) and consume the proof (the step only if later than the last accepted one, RFC 6238
 *      §5.2; the recovery code only if unused), then store the family.
 *   A wrong or replayed code counts against the challenge, which dies after MAX_FAILURES.
 *
 * KMS or DynamoDB down before step 4's transaction: 503 and nothing consumed (the same code and
 * mfa_token work on retry). The transaction itself is all or nothing.
 *
 * amr (RFC 8176 §2): a TOTP code gives `["pwd", "otp", "mfa"]`. A recovery code gives
 * `["pwd", "mfa"]`: it is a second factor (a look-up secret the user holds), but it is not an
 * RFC 4226/6238 one-time password, and leaving `otp` out lets an API that wants the authenticator
 * itself tell the two apart, while one that asks for `mfa` accepts both.
 */
import { encode } from './base64url.ts';
import { InvalidGrantError, InvalidRequestError, MfaRequiredError } from './errors.ts';
import type { Admission, LoginThrottle } from './login-throttle.ts';
import type { FactorProof, SecondFactorStore, SecretSealer, UserDirectory, UserRecord } from './ports.ts';
import { canonicalRecoveryCode, hashRecoveryCode } from './recovery-codes.ts';
import { formatScope, parseScope } from './scope.ts';
import { startSession } from './session-start.ts';
import type { IssuerDeps } from './token-issuance.ts';
import { hashBearerToken } from './token-hash.ts';
import { matchingStep } from './totp.ts';
import type { LoginOutcome } from './login.ts';

/** An mfa_token lives this long (OWASP MFA Cheat Sheet: the second step must follow promptly). */
export const MFA_CHALLENGE_TTL_SECONDS = 300;
/** Wrong codes one mfa_token survives; then the login starts again from the password. */
export const MFA_MAX_FAILURES = 3;

export const AMR_TOTP = ['pwd', 'otp', 'mfa'] as const;
export const AMR_RECOVERY_CODE = ['pwd', 'mfa'] as const;

const MFA_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const INVALID_TOKEN = 'The mfa_token is invalid, expired or already used; log in again.';
const WRONG_CODE = 'The code is incorrect or was already used.';

export interface ChallengeStart {
  readonly user: UserRecord;
  readonly scope: readonly string[];
  readonly factorId: string;
  readonly admission: Admission;
  readonly delivery: 'body' | 'cookie';
  readonly nowMs: number;
}

/** Step 1: stores the challenge and returns the error that carries its `mfa_token` to the client. */
export async function startMfaChallenge(
  start: ChallengeStart,
  deps: Pick<IssuerDeps, 'config' | 'random'> & { readonly secondFactors: Pick<SecondFactorStore, 'createChallenge'> },
): Promise<MfaRequiredError> {
  const mfaToken = encode(deps.random.bytes(32));
  await deps.secondFactors.createChallenge({
    tokenHash: hashBearerToken(mfaToken),
    sub: start.user.sub,
    username: start.user.username,
    scope: formatScope(start.scope),
    clientId: deps.config.clientId,
    delivery: start.delivery,
    deviceHash: start.admission.via === 'device' ? start.admission.deviceHash : undefined,
    factorId: start.factorId,
    failures: 0,
    expiresAt: Math.floor(start.nowMs / 1000) + MFA_CHALLENGE_TTL_SECONDS,
  });
  return new MfaRequiredError(mfaToken);
}

export type MfaProofInput = { readonly otp: string } | { readonly recoveryCode: string };

export interface MfaLoginRequest {
  readonly mfaToken: string;
  readonly proof: MfaProofInput;
  readonly sourceIp: string;
  /** The device token presented now (body or cookie); trusted only if it is the one of step 1. */
  readonly deviceToken?: string;
  /**
   * Checks that this request may receive tokens the way step 1 chose (cookie delivery needs an
   * allowed Origin), before anything is counted or consumed; throws to refuse.
   */
  readonly acceptDelivery?: (delivery: 'body' | 'cookie') => void;
}

export interface MfaLoginDeps extends IssuerDeps {
  readonly users: Pick<UserDirectory, 'findUser'>;
  readonly throttle: LoginThrottle;
  readonly secondFactors: SecondFactorStore;
  readonly sealer: SecretSealer;
}

export interface MfaLoginOutcome extends LoginOutcome {
  readonly delivery: 'body' | 'cookie';
  readonly amr: readonly string[];
  readonly usedRecoveryCode: boolean;
}

export async function completeMfaLogin(request: MfaLoginRequest, deps: MfaLoginDeps): Promise<MfaLoginOutcome> {
  const nowMs = deps.clock.nowMs();
  const nowSeconds = Math.floor(nowMs / 1000);
  if (!MFA_TOKEN.test(request.mfaToken)) throw new InvalidGrantError(INVALID_TOKEN);
  const tokenHash = hashBearerToken(request.mfaToken);
  const challenge = await deps.secondFactors.findChallenge(tokenHash, nowSeconds);
  if (challenge === undefined || challenge.failures >= MFA_MAX_FAILURES || challenge.clientId !== deps.config.clientId) {
    throw new InvalidGrantError(INVALID_TOKEN);
  }
  request.acceptDelivery?.(challenge.delivery);

  const presented = request.deviceToken;
  const sameDevice = presented !== undefined && challenge.deviceHash !== undefined && hashBearerToken(presented) === challenge.deviceHash;
  const attempt = { username: challenge.username, sourceIp: request.sourceIp, ...(sameDevice ? { deviceToken: presented } : {}) };
  const admission = await deps.throttle.admit(attempt, nowMs);

  const factor = await deps.secondFactors.findTotp(challenge.sub);
  // The factor was removed or replaced since step 1: this challenge belongs to no factor now.
  if (factor === undefined || factor.factorId !== challenge.factorId) throw new InvalidGrantError(INVALID_TOKEN);

  let proof: FactorProof | undefined;
  if ('otp' in request.proof) {
    const secret = await deps.sealer.open(challenge.sub, factor.sealedSecret);
    const step = matchingStep(secret, request.proof.otp, nowMs);
    if (step !== undefined && step > factor.lastStep) proof = { kind: 'otp', factorId: factor.factorId, step };
  } else {
    // Looked up before anything is signed, so a wrong recovery code costs what a wrong TOTP code
    // costs (no KMS Sign); the transaction below still consumes it only if it is unused.
    const canonical = canonicalRecoveryCode(request.proof.recoveryCode);
    const codeHash = canonical === undefined ? undefined : hashRecoveryCode(canonical);
    if (codeHash !== undefined && (await deps.secondFactors.hasRecoveryCode(challenge.sub, factor.factorId, codeHash))) {
      proof = { kind: 'recovery_code', factorId: factor.factorId, codeHash };
    }
  }
  if (proof === undefined) {
    await deps.secondFactors.recordChallengeFailure(tokenHash);
    throw new InvalidGrantError(WRONG_CODE);
  }

  // The account may have been disabled, or its scopes cut, since step 1.
  const user = await deps.users.findUser(challenge.username);
  if (user === undefined || user.sub !== challenge.sub || user.status !== 'active') throw new InvalidGrantError(INVALID_TOKEN);
  const scope = (parseScope(challenge.scope) ?? []).filter((name) => user.scopes.includes(name));

  const amr = proof.kind === 'otp' ? AMR_TOTP : AMR_RECOVERY_CODE;
  const verified = proof;
  let deviceToken = '';
  const started = await startSession({ sub: user.sub, username: user.username, scope, amr, startedMs: nowMs }, deps, async () => {
    const outcome = await deps.secondFactors.completeChallenge(challenge, verified, nowSeconds, MFA_MAX_FAILURES);
    if (outcome === 'challenge_gone') throw new InvalidGrantError(INVALID_TOKEN);
    if (outcome === 'proof_refused') {
      await deps.secondFactors.recordChallengeFailure(tokenHash);
      throw new InvalidGrantError(WRONG_CODE);
    }
    // Both steps were counted; the password step's attempt on the per-user and per-IP counters
    // too, unless it came in on the trusted device (whose renewal takes it back).
    deviceToken = await deps.throttle.passed(attempt, admission, nowMs, challenge.deviceHash === undefined ? 2 : 1);
  });
  return { response: started.response, sub: user.sub, sid: started.sid, deviceToken, delivery: challenge.delivery, amr, usedRecoveryCode: proof.kind === 'recovery_code' };
}

/** Reads `{ otp }` or `{ recovery_code }` (exactly one). */
export function mfaProof(otp: string | undefined, recoveryCode: string | undefined): MfaProofInput {
  if ((otp === undefined) === (recoveryCode === undefined)) {
    throw new InvalidRequestError('Send exactly one of "otp" (the 6-digit code) and "recovery_code".');
  }
  return otp !== undefined ? { otp } : { recoveryCode: recoveryCode ?? '' };
}
