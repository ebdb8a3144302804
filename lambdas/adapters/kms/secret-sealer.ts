/**
 * TOTP secrets sealed with KMS `Encrypt` / `Decrypt` under the MFA key (a symmetric
 * SYMMETRIC_DEFAULT key, separate from the signing keys). The encryption context
 * `{ purpose: "totp", sub }` is authenticated data: Decrypt succeeds only with the same context
 * (KMS Developer Guide, "Encryption context"), so a ciphertext copied into another user's item,
 * or used for another purpose, does not open. It also appears in CloudTrail, which is why it holds
 * identifiers only. Decrypt names the key too, so a ciphertext of another key is refused
 * (IncorrectKeyException) rather than opened with whatever key made it.
 */
import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { DependencyUnavailableError } from '../../core/errors.ts';
import type { SecretSealer } from '../../core/ports.ts';

/** KMS errors that mean "this ciphertext is not one of ours for this user", not an outage. */
const REFUSED = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

export class KmsSecretSealer implements SecretSealer {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async seal(sub: string, secret: Uint8Array): Promise<Uint8Array> {
    let blob: unknown;
    try {
      const out = await this.kms.send(new EncryptCommand({ KeyId: this.keyId, Plaintext: secret, EncryptionContext: { purpose: 'totp', sub } }));
      blob = out.CiphertextBlob;
    } catch (error) {
      throw new DependencyUnavailableError('KMS', error);
    }
    if (!(blob instanceof Uint8Array) || blob.length === 0) throw new DependencyUnavailableError('KMS', new Error('Encrypt returned no ciphertext.'));
    return blob;
  }

  async open(sub: string, sealed: Uint8Array): Promise<Uint8Array> {
    let plaintext: unknown;
    try {
      const out = await this.kms.send(
        new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: sealed, EncryptionContext: { purpose: 'totp', sub } }),
      );
      plaintext = out.Plaintext;
    } catch (error) {
      // A stored secret that will not open for its own user was moved or altered: a fault of the
      // data, not of KMS; a 500 (logged), never a 503 that invites retries.
      if (error instanceof Error && REFUSED.has(error.name)) throw new Error(`The stored TOTP secret does not open for its user (${error.name}).`);
      throw new DependencyUnavailableError('KMS', error);
    }
    if (!(plaintext instanceof Uint8Array) || plaintext.length === 0) throw new DependencyUnavailableError('KMS', new Error('Decrypt returned no plaintext.'));
    return plaintext;
  }
}
