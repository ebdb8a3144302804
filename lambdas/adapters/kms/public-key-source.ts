/**
 * Where the authorizer's public keys come from when they are fixed at deploy time (`PUBLIC_JWKS`:
 * a JWK Set validated at cold start; no KMS call ever), and the authorizer's KMS `GetPublicKey`
 * over its SigV4 client (`sigV4GetPublicKey`), which the key registry ring
 * (`kms/registry-key-ring.ts`) uses for `VERIFY_KEY_IDS` and rotated-in keys.
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
import type { GetPublicKey } from './public-key-loader.ts';

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

/**
 * KMS `GetPublicKey` over the authorizer's SigV4 client, for the one public-key loader
 * (`loadPublicKey`); each call has its own deadline, after which the load counts as an outage.
 */
export function sigV4GetPublicKey(client: AwsJsonClient, budgetMs: number = DEFAULT_KMS_BUDGET_MS): GetPublicKey {
  return (keyId) => withDeadline(budgetMs, (deadline) => client.call('TrentService.GetPublicKey', { KeyId: keyId }, deadline));
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
