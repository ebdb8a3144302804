/**
 * The issuers' `TokenSigner`: signs with the key registry's signing key (`core/key-registry.ts`),
 * or with the deploy-time key (`SIGNING_KEY_ID`) while no rotation has been made. The registry is
 * read once per token (one strongly consistent `GetItem`), so a rotation takes effect for the very
 * next token, in every container, with no cache to wait out. Each key's `kid` (RFC 7638
 * thumbprint, from KMS `GetPublicKey`) is read once per container and key.
 *
 * KMS may take up to five minutes to apply a new key's tag to the issuers' tag-conditioned grants
 * (`KMS_AUTHORIZATION_DELAY_SECONDS`). During that time, once per container until it succeeds, a
 * `Sign` `DryRun` asks whether the new key is usable; while KMS says AccessDenied, tokens are
 * signed with the key it replaced, if that key still verifies long enough (never a key retired
 * as compromised).
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { ConfigurationError } from '../../core/errors.ts';
import { fallbackSigningKey, mayAwaitAuthorization, signingKeyOf } from '../../core/key-registry.ts';
import type { Clock, KeyRegistryReader, SigningKeyHandle, TokenSigner } from '../../core/ports.ts';
import type { SigningAlgorithm } from '../../core/token-model.ts';
import { KmsSigner } from './signer.ts';

/** Signers kept per container: more keys than a registry holds means old ones can go. */
const MAX_CACHED_SIGNERS = 16;

export interface RegistrySignerOptions {
  /** Access-token lifetime + clock skew: how long a fallback key must still verify. */
  readonly tokenLifetimeSeconds: number;
  readonly clock: Pick<Clock, 'nowMs'>;
}

export class RegistrySigner implements TokenSigner {
  private readonly signers = new Map<string, KmsSigner>();
  /** Keys KMS has let this container use (asked once per young key). */
  private readonly usable = new Set<string>();

  constructor(
    private readonly kms: KMSClient,
    private readonly registry: KeyRegistryReader,
    private readonly deployTimeKeyId: string,
    readonly alg: SigningAlgorithm,
    private readonly options: RegistrySignerOptions,
  ) {}

  async current(): Promise<SigningKeyHandle> {
    const registry = await this.registry.read();
    if (registry === undefined) return this.signerFor(this.deployTimeKeyId).current();
    const key = signingKeyOf(registry);
    if (key.alg !== this.alg) throw new ConfigurationError(`the key registry's signing key is for ${key.alg}, not ${this.alg}`);
    const nowSeconds = Math.floor(this.options.clock.nowMs() / 1000);
    if (mayAwaitAuthorization(key, nowSeconds) && !this.usable.has(key.keyId)) {
      const allowed = await this.signerFor(key.keyId).mayUse();
      if (allowed === true) {
        if (this.usable.size >= MAX_CACHED_SIGNERS) this.usable.clear();
        this.usable.add(key.keyId);
      } else if (allowed === false) {
        const fallback = fallbackSigningKey(registry, nowSeconds, this.options.tokenLifetimeSeconds);
        if (fallback !== undefined) return this.signerFor(fallback.keyId).current();
      }
    }
    return this.signerFor(key.keyId).current();
  }

  private signerFor(keyId: string): KmsSigner {
    let signer = this.signers.get(keyId);
    if (signer === undefined) {
      if (this.signers.size >= MAX_CACHED_SIGNERS) this.signers.clear();
      signer = new KmsSigner(this.kms, keyId, this.alg);
      this.signers.set(keyId, signer);
    }
    return signer;
  }
}
