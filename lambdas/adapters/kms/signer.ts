/**
 * `TokenSigner` backed by KMS `Sign`: the private key never leaves KMS. ECDSA signatures come back
 * DER-encoded and are converted to JWS R||S (RFC 7518 §3.4); RSASSA-PKCS1-v1_5 signatures are used
 * as they are (RFC 7518 §3.3). MessageType RAW: KMS hashes the signing input itself (it is far
 * below the 4096-byte RAW limit of the Sign API).
 */
import { SignCommand, type KMSClient, type SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { DependencyUnavailableError } from '../../core/errors.ts';
import { derToJoseSignature } from '../../core/ecdsa-signature.ts';
import type { PublishedKey, SigningKeyHandle, TokenSigner } from '../../core/ports.ts';
import type { SigningAlgorithm } from '../../core/token-model.ts';
import { loadPublicKey } from './public-key-loader.ts';
import { sdkGetPublicKey } from './sdk-get-public-key.ts';

const KMS_ALGORITHM: Readonly<Record<SigningAlgorithm, SigningAlgorithmSpec>> = {
  ES256: 'ECDSA_SHA_256',
  RS256: 'RSASSA_PKCS1_V1_5_SHA_256',
};

export class KmsSigner implements TokenSigner {
  private publicKey: Promise<PublishedKey> | undefined;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
    readonly alg: SigningAlgorithm,
  ) {}

  async kid(): Promise<string> {
    if (this.publicKey === undefined) {
      this.publicKey = loadPublicKey(sdkGetPublicKey(this.kms), this.keyId);
      this.publicKey.catch(() => {
        this.publicKey = undefined;
      });
    }
    const key = await this.publicKey;
    if (key.alg !== this.alg) throw new Error(`Signing key ${this.keyId} is for ${key.alg}, not ${this.alg}.`);
    return key.kid;
  }

  /** This one key: its kid (read once per container) and `sign`. */
  async current(): Promise<SigningKeyHandle> {
    return { kid: await this.kid(), sign: (signingInput) => this.sign(signingInput) };
  }

  /**
   * Whether KMS lets us sign with this key, asked with `Sign` `DryRun` (the KMS API reference:
   * `DryRunOperationException` means the request would have succeeded): true, false on
   * `AccessDeniedException`, `undefined` when KMS said neither (the real `Sign` will tell).
   */
  async mayUse(): Promise<boolean | undefined> {
    try {
      await this.kms.send(
        new SignCommand({ KeyId: this.keyId, Message: new Uint8Array(1), MessageType: 'RAW', SigningAlgorithm: KMS_ALGORITHM[this.alg], DryRun: true }),
      );
      return true;
    } catch (error) {
      const name = error instanceof Error ? error.name : undefined;
      if (name === 'DryRunOperationException') return true;
      if (name === 'AccessDeniedException') return false;
      return undefined;
    }
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    let signature: Uint8Array | undefined;
    try {
      const response = await this.kms.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: signingInput,
          MessageType: 'RAW',
          SigningAlgorithm: KMS_ALGORITHM[this.alg],
        }),
      );
      signature = response.Signature;
    } catch (error) {
      throw new DependencyUnavailableError('KMS', error);
    }
    if (!(signature instanceof Uint8Array)) throw new DependencyUnavailableError('KMS', new Error('Sign returned no signature.'));
    return this.alg === 'ES256' ? derToJoseSignature(signature) : signature;
  }
}
