/**
 * The issuers' `TokenSigner`: signs with the key registry's signing key (`core/key-registry.ts`),
 * or with the deploy-time key (`SIGNING_KEY_ID`) while no rotation has been made. The registry is
 * read once per token (one strongly consistent `GetItem`), so a rotation takes effect for the very
 * next token, in every container, with no cache to wait out. Each key's `kid` (RFC 7638
 * thumbprint, from KMS `GetPublicKey`) is read once per container and key.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { ConfigurationError } from '../../core/errors.ts';
import { signingKeyOf } from '../../core/key-registry.ts';
import type { KeyRegistryReader, SigningKeyHandle, TokenSigner } from '../../core/ports.ts';
import type { SigningAlgorithm } from '../../core/token-model.ts';
import { KmsSigner } from './signer.ts';

/** Signers kept per container: more keys than a registry holds means old ones can go. */
const MAX_CACHED_SIGNERS = 16;

export class RegistrySigner implements TokenSigner {
  private readonly signers = new Map<string, KmsSigner>();

  constructor(
    private readonly kms: KMSClient,
    private readonly registry: KeyRegistryReader,
    private readonly deployTimeKeyId: string,
    readonly alg: SigningAlgorithm,
  ) {}

  async current(): Promise<SigningKeyHandle> {
    const registry = await this.registry.read();
    let keyId = this.deployTimeKeyId;
    if (registry !== undefined) {
      const key = signingKeyOf(registry);
      if (key.alg !== this.alg) throw new ConfigurationError(`the key registry's signing key is for ${key.alg}, not ${this.alg}`);
      keyId = key.keyId;
    }
    let signer = this.signers.get(keyId);
    if (signer === undefined) {
      if (this.signers.size >= MAX_CACHED_SIGNERS) this.signers.clear();
      signer = new KmsSigner(this.kms, keyId, this.alg);
      this.signers.set(keyId, signer);
    }
    return signer.current();
  }
}
