/**
 * The verification keys of the authorizer, /revoke and JWKS, from the key registry
 * (`core/key-registry.ts`), or from the deploy-time list (`VERIFY_KEY_IDS`) while no rotation has
 * been made. Never read per request on the warm path:
 *  - loaded once per container (registry `GetItem`, then KMS `GetPublicKey` for each key not
 *    already held: a reload fetches only keys it has not seen);
 *  - reloaded in the background once the set is older than `refreshMs`, so a rotation reaches
 *    a warm container without a cold start, while requests keep being served from the set held;
 *  - reloaded for a token whose kid the set does not hold (a key added since), at most once per
 *    `unknownKidCooldownMs` whatever the number of such tokens, so a flood of made-up kids costs
 *    at most one registry read per cooldown (RFC 8725 §3.10 asks verifiers not to fetch keys on
 *    an attacker's say-so);
 *  - a retired key leaves the set by itself the second after its `verifyUntil`, by the same rule
 *    the registry applies (`verifiesAt`), without waiting for a reload.
 * When the first load fails, callers get `DependencyUnavailableError` (503) and the next attempt
 * waits `failureBackoffMs`; a failed background reload keeps the set held.
 */
import { ConfigurationError, DependencyUnavailableError } from '../../core/errors.ts';
import { keysToVerify, nextVerifyDeadline, verifiesAt, type DeployTimeKeys } from '../../core/key-registry.ts';

export type { DeployTimeKeys };
import type { KeyLookup, KeyRegistryReader, PublishedKey, PublishedKeySet, VerificationKey, VerificationKeyRing } from '../../core/ports.ts';
import { loadPublicKey, type GetPublicKey } from './public-key-loader.ts';

export interface RegistryKeyRingOptions {
  /** After this long, the next request starts a reload (0: every request reads the registry first). */
  readonly refreshMs: number;
  /** Whether a request waits for that reload (JWKS: always current) or is served the set held. */
  readonly awaitRefresh: boolean;
  /** Minimum time between two reloads, for tokens with a kid the set does not hold. */
  readonly unknownKidCooldownMs: number;
  /** After a failed first load, requests fail fast (503) for this long. */
  readonly failureBackoffMs: number;
  readonly nowMs: () => number;
}

/** Authorizer and /revoke: a rotation reaches every warm container within a minute, or at its first new kid. */
export const VERIFIER_RING_OPTIONS: RegistryKeyRingOptions = {
  refreshMs: 60_000,
  awaitRefresh: false,
  unknownKidCooldownMs: 1_000,
  failureBackoffMs: 2_000,
  nowMs: Date.now,
};

/**
 * JWKS: the registry is read for every request (one `GetItem`), so the published set is never
 * behind the signer; the answer is cacheable for 5 minutes, so clients rarely ask.
 */
export const JWKS_RING_OPTIONS: RegistryKeyRingOptions = { ...VERIFIER_RING_OPTIONS, refreshMs: 0, awaitRefresh: true };

interface HeldKey {
  readonly key: PublishedKey;
  readonly verifyUntil: number | undefined;
}

interface View {
  readonly lookup: KeyLookup;
  readonly published: readonly PublishedKey[];
  /** Epoch ms from which a held key no longer verifies: the view is rebuilt then. */
  readonly rebuildAtMs: number;
}

export class RegistryKeyRing implements VerificationKeyRing {
  private held: readonly HeldKey[] | undefined;
  private view: View | undefined;
  private loadedAtMs = Number.NEGATIVE_INFINITY;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private failedAtMs = Number.NEGATIVE_INFINITY;
  private lastFailure: unknown;
  private inFlight: Promise<View> | undefined;
  /** Public keys already read from KMS, by key id: a reload reads only new ones. */
  private readonly publicKeys = new Map<string, PublishedKey>();
  /** Registry reads made (first load and reloads): tests and the bench assert on it. */
  loads = 0;

  constructor(
    private readonly registry: KeyRegistryReader,
    private readonly getPublicKey: GetPublicKey,
    private readonly deployTime: DeployTimeKeys,
    private readonly options: RegistryKeyRingOptions = VERIFIER_RING_OPTIONS,
  ) {}

  current(): Promise<KeyLookup> {
    // The warm path: a set loaded less than `refreshMs` ago and no key past its window.
    const now = this.options.nowMs();
    const view = this.view;
    if (view !== undefined && now < view.rebuildAtMs && now - this.loadedAtMs < this.options.refreshMs) return Promise.resolve(view.lookup);
    return this.fresh().then((fresh) => fresh.lookup);
  }

  async reloadForUnknownKid(): Promise<KeyLookup | undefined> {
    return (await this.reloadAllowed())?.lookup;
  }

  /** The same keys as a `PublishedKeySet`, for JWKS and /revoke. */
  publishedKeySet(): PublishedKeySet {
    return {
      keys: async () => (await this.fresh()).published,
      reloadForUnknownKid: async () => (await this.reloadAllowed())?.published,
    };
  }

  private async fresh(): Promise<View> {
    const now = this.options.nowMs();
    if (this.held === undefined) {
      if (this.inFlight !== undefined) return this.inFlight;
      if (now - this.failedAtMs < this.options.failureBackoffMs) {
        throw this.lastFailure instanceof Error ? this.lastFailure : new DependencyUnavailableError('DynamoDB');
      }
      return this.reload();
    }
    if (now - this.loadedAtMs >= this.options.refreshMs) {
      const reloading = this.inFlight ?? (now - this.failedAtMs >= this.options.failureBackoffMs ? this.reload() : undefined);
      if (reloading !== undefined) {
        if (this.options.awaitRefresh) {
          try {
            return await reloading;
          } catch {
            // Serve the set held: it is still right except for a rotation made since.
          }
        } else {
          reloading.catch(() => undefined);
        }
      }
    }
    return this.viewAt(this.options.nowMs());
  }

  private async reloadAllowed(): Promise<View | undefined> {
    if (this.inFlight !== undefined) return this.inFlight.catch(() => undefined);
    if (this.options.nowMs() - this.lastAttemptMs < this.options.unknownKidCooldownMs) return undefined;
    try {
      return await this.reload();
    } catch {
      return undefined; // keep the keys held; the token stays unknown → 401
    }
  }

  private reload(): Promise<View> {
    this.lastAttemptMs = this.options.nowMs();
    this.loads++;
    const loading = this.load().then(
      (held) => {
        this.held = held;
        this.loadedAtMs = this.options.nowMs();
        this.view = undefined;
        this.inFlight = undefined;
        return this.viewAt(this.loadedAtMs);
      },
      (error: unknown) => {
        this.lastFailure = error;
        this.failedAtMs = this.options.nowMs();
        this.inFlight = undefined;
        throw error;
      },
    );
    this.inFlight = loading;
    return loading;
  }

  private async load(): Promise<HeldKey[]> {
    const registry = await this.registry.read();
    const nowSeconds = Math.floor(this.options.nowMs() / 1000);
    const wanted = keysToVerify(registry, this.deployTime, nowSeconds);
    const held = await Promise.all(
      wanted.map(async ({ keyId, kid, verifyUntil }): Promise<HeldKey> => {
        let key = this.publicKeys.get(keyId);
        if (key === undefined) {
          key = await loadPublicKey(this.getPublicKey, keyId);
          this.publicKeys.set(keyId, key);
        }
        // The registry's kid was computed by the CLI from the same key: a mismatch means the item
        // names a key it was not written for, and no key of it is trusted.
        if (kid !== undefined && kid !== key.kid) throw new ConfigurationError(`the key registry's kid for ${keyId} is not its thumbprint`);
        return { key, verifyUntil };
      }),
    );
    const keyIds = new Set(wanted.map((entry) => entry.keyId));
    for (const keyId of this.publicKeys.keys()) if (!keyIds.has(keyId)) this.publicKeys.delete(keyId);
    return held;
  }

  /** The keys that verify at `nowMs`; the same objects until one of them stops verifying. */
  private viewAt(nowMs: number): View {
    if (this.view !== undefined && nowMs < this.view.rebuildAtMs) return this.view;
    const nowSeconds = Math.floor(nowMs / 1000);
    const active = (this.held ?? []).filter((entry) => verifiesAt(entry, nowSeconds));
    const lookup = new Map<string, VerificationKey>(active.map(({ key }) => [key.kid, key]));
    const deadline = nextVerifyDeadline(active, nowSeconds);
    this.view = {
      lookup,
      published: active.map(({ key }) => key),
      // verifiesAt holds through the whole second of verifyUntil.
      rebuildAtMs: deadline === Number.POSITIVE_INFINITY ? deadline : (deadline + 1) * 1000,
    };
    return this.view;
  }
}
