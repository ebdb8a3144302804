/**
 * A software WebAuthn authenticator for HTTP-level tests (no browser): an ES256 key pair per
 * credential, "none" attestation, and assertions signed over authenticatorData ‖ SHA-256(clientDataJSON)
 * (WebAuthn Level 3 §6.1, §6.3.3, §8.7). Every field a relying party checks can be bent (origin,
 * RP ID, flags, counter, user handle, challenge) so tests can attack each check one at a time.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

export interface CeremonyOptions {
  readonly origin?: string;
  readonly rpId?: string;
  /** User verified (UV flag); default true. */
  readonly userVerified?: boolean;
  /** Backup eligible and backed up (BE, BS flags): a synced passkey. */
  readonly backedUp?: boolean;
  /** Overrides the challenge the client data carries. */
  readonly challenge?: string;
  readonly type?: string;
}

export interface SoftCredential {
  readonly id: Uint8Array;
  readonly privateKey: KeyObject;
  /** The user handle the credential was created with (bytes, as user.id in the options). */
  readonly userHandle: Uint8Array;
  counter: number;
}

interface CreationOptionsJSON {
  readonly challenge: string;
  readonly rp: { readonly id?: string };
  readonly user: { readonly id: string };
}

interface RequestOptionsJSON {
  readonly challenge: string;
  readonly rpId?: string;
}

export class SoftAuthenticator {
  constructor(
    private readonly origin: string,
    private readonly rpId: string,
  ) {}

  private clientData(type: string, challenge: string, options: CeremonyOptions): Buffer {
    return Buffer.from(JSON.stringify({ type: options.type ?? type, challenge: options.challenge ?? challenge, origin: options.origin ?? this.origin, crossOrigin: false }));
  }

  private flags(options: CeremonyOptions): number {
    return FLAG_UP | (options.userVerified === false ? 0 : FLAG_UV) | (options.backedUp === true ? FLAG_BE | FLAG_BS : 0);
  }

  /** A registration response (`PublicKeyCredential.toJSON()` of `create()`) and the new credential. */
  create(creation: CreationOptionsJSON, options: CeremonyOptions = {}): { credential: SoftCredential; response: Record<string, unknown> } {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(String(jwk.x), 'base64url')],
        [-3, Buffer.from(String(jwk.y), 'base64url')],
      ]),
    );
    const id = randomBytes(16);
    const counter = 0;
    const authData = Buffer.concat([
      sha256(options.rpId ?? this.rpId),
      Buffer.from([this.flags(options) | FLAG_AT]),
      u32(counter),
      Buffer.alloc(16), // AAGUID: none
      Buffer.from([0, id.length]),
      id,
      cose,
    ]);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
    const clientDataJSON = this.clientData('webauthn.create', creation.challenge, options);
    const credential: SoftCredential = { id, privateKey, userHandle: Buffer.from(creation.user.id, 'base64url'), counter };
    return {
      credential,
      response: {
        id: b64url(id),
        rawId: b64url(id),
        type: 'public-key',
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
        response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ['internal'] },
      },
    };
  }

  /** An assertion (`PublicKeyCredential.toJSON()` of `get()`); the counter goes up by one unless `counter` is given. */
  get(
    credential: SoftCredential,
    request: RequestOptionsJSON,
    options: CeremonyOptions & { readonly counter?: number; readonly userHandle?: Uint8Array | null; readonly id?: Uint8Array } = {},
  ): Record<string, unknown> {
    const counter = options.counter ?? credential.counter + 1;
    credential.counter = Math.max(credential.counter, counter);
    const authData = Buffer.concat([sha256(options.rpId ?? this.rpId), Buffer.from([this.flags(options)]), u32(counter)]);
    const clientDataJSON = this.clientData('webauthn.get', request.challenge, options);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    const userHandle = options.userHandle === undefined ? credential.userHandle : options.userHandle;
    const id = options.id ?? credential.id;
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle === null ? {} : { userHandle: b64url(userHandle) }),
      },
    };
  }
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}
