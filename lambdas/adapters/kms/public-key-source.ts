/**
 * Where the authorizer's public keys come from, loaded once per container and never per request:
 *  - `PUBLIC_JWKS`: a JWK Set delivered at deploy time, validated at cold start; no KMS call ever;
 *  - `VERIFY_KEY_IDS`: KMS `GetPublicKey` for each key (in parallel), through the one KMS
 *    public-key loader (`kms/public-key-loader.ts`) over the authorizer's SigV4 client.
 * Several kids at once, so a key rotation (new key signing, old tokens still valid) just works.
 *
 * `PublicKeyRing` holds the current set. An unknown `kid` may mean a key was added since the
 * container started: it triggers a reload, but at most once per cooldown, so a stream of forged
 * kids cannot amplify into KMS calls. Loads are single-flight.
 */
import { ConfigurationError, DependencyUnavailableError } from '../../core/errors.ts';
import { verificationKeysFromJwks } from '../../core/verification-key.ts';
import type { KeyLookup, PublicKeySource, VerificationKey, VerificationKeyRing } from '../../core/ports.ts';
import type { AwsJsonClient } from '../aws/aws-json-client.ts';
import { withDeadline } from '../aws/deadline.ts';
import { loadPublicKey } from './public-key-loader.ts';

/**
 * Keys delivered at deploy time (env `PUBLIC_JWKS`, written by the CDK construct with
 * `JSON.stringify`); parsed and validated at construction.
 */
export class StaticJwksSource implements PublicKeySource {
  private readonly keys: Map<string, VerificationKey>;

  constructor(jwksJson: string) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(jwksJson);
    } catch {
      throw new ConfigurationError('PUBLIC_JWKS is not valid JSON');
    }
    this.keys = verificationKeysFromJwks(parsed);
  }

  load(): Promise<Map<string, VerificationKey>> {
    return Promise.resolve(new Map(this.keys));
  }
}

const DEFAULT_KMS_BUDGET_MS = 3000;

export class KmsPublicKeySource implements PublicKeySource {
  constructor(
    private readonly client: AwsJsonClient,
    private readonly keyIds: readonly string[],
    private readonly budgetMs: number = DEFAULT_KMS_BUDGET_MS,
  ) {}

  async load(): Promise<Map<string, VerificationKey>> {
    const keys = await withDeadline(this.budgetMs, (deadline) =>
      Promise.all(
        this.keyIds.map((keyId) => loadPublicKey((id) => this.client.call('TrentService.GetPublicKey', { KeyId: id }, deadline), keyId)),
      ),
    );
    return new Map(keys.map((key) => [key.kid, key]));
  }
}

interface PublicKeyRingOptions {
  /** Minimum time between two reloads triggered by unknown kids. */
  readonly reloadCooldownMs: number;
  /** After a failed load, requests fail fast (503) for this long before KMS is tried again. */
  readonly failureBackoffMs: number;
  readonly nowMs: () => number;
}

const DEFAULT_KEY_RING_OPTIONS: PublicKeyRingOptions = {
  reloadCooldownMs: 5 * 60_000,
  failureBackoffMs: 2_000,
  nowMs: Date.now,
};
export class PublicKeyRing implements VerificationKeyRing {
  private keys: KeyLookup | undefined;
  private inFlight: Promise<KeyLookup> | undefined;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private lastFailure: unknown;
  /** Number of `source.load()` calls made: tests and the bench assert on it. */
  loads = 0;

  constructor(
    private readonly source: PublicKeySource,
    private readonly options: PublicKeyRingOptions = DEFAULT_KEY_RING_OPTIONS,
  ) {}

  /** The current keys; the first call (or the first after a failure backoff) loads them. */
  current(): Promise<KeyLookup> {
    if (this.keys !== undefined) return Promise.resolve(this.keys);
    if (this.inFlight !== undefined) return this.inFlight;
    if (this.options.nowMs() - this.lastAttemptMs < this.options.failureBackoffMs) {
      return Promise.reject(this.lastFailure instanceof Error ? this.lastFailure : new DependencyUnavailableError('KMS'));
    }
    return this.reload();
  }

  /**
   * Called when a token names a kid we do not hold. Reloads unless one happened within the
   * cooldown; resolves to the new keys, or `undefined` when no reload was allowed.
   */
  async reloadForUnknownKid(): Promise<KeyLookup | undefined> {
    if (this.inFlight !== undefined) return this.inFlight;
    if (this.options.nowMs() - this.lastAttemptMs < this.options.reloadCooldownMs) return undefined;
    try {
      return await this.reload();
    } catch {
      return undefined; // keep serving the keys we have; the token stays unknown → 401
    }
  }

  private reload(): Promise<KeyLookup> {
    this.lastAttemptMs = this.options.nowMs();
    this.loads++;
    const loading = this.source.load().then(
      (keys) => {
        this.keys = keys;
        this.inFlight = undefined;
        return keys;
      },
      (error: unknown) => {
        this.lastFailure = error;
        this.inFlight = undefined;
        throw error;
      },
    );
    this.inFlight = loading;
    return loading;
  }
}
