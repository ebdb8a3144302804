/**
 * Public keys of the KMS signing keys, read with `GetPublicKey` once per container and kept
 * (never per request). KMS returns a DER-encoded SubjectPublicKeyInfo (RFC 5280 §4.1.2.7;
 * "GetPublicKey" in the AWS KMS API Reference). The JWK form comes from node:crypto, and its
 * RFC 7638 thumbprint (our `kid`) from `core/jwk-thumbprint.ts`, the one the authorizer uses too.
 */
import { GetPublicKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { DependencyUnavailableError } from '../core/errors.ts';
import { jwkThumbprint } from '../core/jwk-thumbprint.ts';
import type { SigningAlgorithm } from '../core/token-model.ts';

export interface PublishedKey {
  readonly keyId: string;
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** The public JWK as published (RFC 7517), with `kid`, `alg` and `use`. */
  readonly jwk: JsonWebKey & { readonly kid: string; readonly alg: SigningAlgorithm; readonly use: 'sig' };
  readonly keyObject: KeyObject;
}

/** KMS key specs we sign with, and the JWS algorithm each implies (RFC 7518 §3.3, §3.4). */
const ALG_FOR_KEY_SPEC: Readonly<Record<string, SigningAlgorithm>> = {
  ECC_NIST_P256: 'ES256',
  RSA_2048: 'RS256',
};

export async function loadPublicKey(kms: KMSClient, keyId: string): Promise<PublishedKey> {
  let response;
  try {
    response = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  } catch (error) {
    throw new DependencyUnavailableError('KMS', error);
  }
  const spec: unknown = response.KeySpec;
  const alg = typeof spec === 'string' ? ALG_FOR_KEY_SPEC[spec] : undefined;
  if (alg === undefined || response.KeyUsage !== 'SIGN_VERIFY' || !(response.PublicKey instanceof Uint8Array)) {
    throw new Error(`KMS key ${keyId} is not an ECC_NIST_P256 or RSA_2048 SIGN_VERIFY key.`);
  }
  const keyObject = createPublicKey({ key: Buffer.from(response.PublicKey), format: 'der', type: 'spki' });
  const kid = jwkThumbprint(keyObject);
  // RFC 7517 §4.2–4.4: say what the key is for, so nobody uses it to encrypt.
  const jwk = { ...keyObject.export({ format: 'jwk' }), kid, alg, use: 'sig' } as const;
  return { keyId, kid, alg, jwk, keyObject };
}

/** Loads every listed key once; concurrent callers share the same promise. A failure is retried next time. */
export class KmsPublicKeySet {
  private loading: Promise<readonly PublishedKey[]> | undefined;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyIds: readonly string[],
  ) {}

  keys(): Promise<readonly PublishedKey[]> {
    if (this.loading === undefined) {
      this.loading = Promise.all(this.keyIds.map((keyId) => loadPublicKey(this.kms, keyId)));
      this.loading.catch(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }
}
