/**
 * Refresh tokens (version 2): opaque to clients, 85 bytes, base64url (114 characters):
 *
 *   version (1) = 2 | sub (16) | family id (16) | generation (4, big-endian) | secret (32) | tag (16)
 *
 * - `sub`: 16 bytes of the user's UUID, to address the user's partition without a read.
 * - family id: random, secret on purpose: access tokens carry the *session* id (`sid`), which any
 *   API behind the authorizer may log; if the family id were the sid, anyone holding an access
 *   token could present a "reused" token of that family.
 * - generation: how many rotations the family had when the token was minted (0 at login).
 * - secret: 32 random bytes (256 bits of entropy; RFC 6749 §10.10: at most 2^-160 to guess).
 * - tag: HMAC-SHA-256 (RFC 2104), truncated to 128 bits (RFC 2104 §5), of everything before it,
 *   under the family's own random token key. It proves "minted by this service for this family at
 *   this generation" for every generation, without storing every token: a token with any byte
 *   changed, or parts of two tokens spliced, fails it and is refused without changing anything,
 *   while an authentic token of an earlier generation is recognised as reuse (RFC 9700 §4.14.2).
 *
 * The server stores only the SHA-256 of the token's body (everything but the tag): the tag is added
 * after the rotation's write, because the family key lives in the family item that the write
 * returns. Successors for retries within the grace period are sealed under a key derived from the
 * presented token's secret (`sealSuccessor`), so a database reader cannot open them.
 * SECURITY.md ("Refresh tokens") states the threat model.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { decodeCanonical, encode } from './base64url.ts';

const VERSION = 2;
const SUB_BYTES = 16;
const FID_BYTES = 16;
const GENERATION_BYTES = 4;
const SECRET_BYTES = 32;
const TAG_BYTES = 16;
/** Bytes of a family's token key (HMAC-SHA-256 key as long as its output, RFC 2104 §3). */
export const TOKEN_KEY_BYTES = 32;
const BODY_BYTES = 1 + SUB_BYTES + FID_BYTES + GENERATION_BYTES + SECRET_BYTES;
const TOTAL_BYTES = BODY_BYTES + TAG_BYTES;
const SECRET_OFFSET = BODY_BYTES - SECRET_BYTES;
const MAX_GENERATION = 0xffff_ffff;
/** base64url length of TOTAL_BYTES, no padding. */
export const REFRESH_TOKEN_LENGTH = Math.ceil((TOTAL_BYTES * 4) / 3);

export interface ParsedRefreshToken {
  readonly sub: string;
  readonly fid: string;
  readonly generation: number;
  /** SHA-256 of the body (all but the tag), base64url: what the family item stores. */
  readonly hash: string;
  readonly body: Buffer;
  readonly tag: Buffer;
}

/** A token body minted before its tag: the tag needs the family key, which the store returns. */
export interface UntaggedRefreshToken {
  readonly body: Buffer;
  readonly hash: string;
  readonly secret: Buffer;
}

function subToBytes(sub: string): Buffer | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(sub)) return undefined;
  return Buffer.from(sub.replaceAll('-', ''), 'hex');
}

function bytesToSub(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const hashBody = (body: Uint8Array): string => createHash('sha256').update(body).digest('base64url');

function tagOf(tokenKey: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', tokenKey).update(body).digest().subarray(0, TAG_BYTES);
}

export function newFamilyId(random: (length: number) => Uint8Array): string {
  return encode(random(FID_BYTES));
}

/** A fresh random key for a new family's tags. */
export function newTokenKey(random: (length: number) => Uint8Array): Buffer {
  const key = Buffer.from(random(TOKEN_KEY_BYTES));
  if (key.length !== TOKEN_KEY_BYTES) throw new Error('Random source returned the wrong length.');
  return key;
}

/** The body of a token: version, sub, family id, generation and `secret` (fresh randomness). */
export function tokenBody(sub: string, fid: string, generation: number, secret: Uint8Array): UntaggedRefreshToken {
  const subBytes = subToBytes(sub);
  const fidBytes = decodeCanonical(fid);
  if (subBytes === undefined || fidBytes === undefined || fidBytes.length !== FID_BYTES) {
    throw new Error('Refresh tokens need a UUID sub and a 16-byte family id.');
  }
  if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
    throw new Error('Refresh-token generations are 32-bit unsigned integers.');
  }
  if (secret.length !== SECRET_BYTES) throw new Error('Random source returned the wrong length.');
  const generationBytes = Buffer.alloc(GENERATION_BYTES);
  generationBytes.writeUInt32BE(generation);
  const body = Buffer.concat([Buffer.of(VERSION), subBytes, fidBytes, generationBytes, secret]);
  return { body, hash: hashBody(body), secret: Buffer.from(secret) };
}

export function mintUntagged(
  sub: string,
  fid: string,
  generation: number,
  random: (length: number) => Uint8Array,
): UntaggedRefreshToken {
  return tokenBody(sub, fid, generation, random(SECRET_BYTES));
}

/** The token a client sees: the body and its tag under the family key. */
export function tagToken(untagged: Pick<UntaggedRefreshToken, 'body'>, tokenKey: Uint8Array): string {
  return encode(Buffer.concat([untagged.body, tagOf(tokenKey, untagged.body)]));
}

/** `undefined` for anything that is not a well-formed, canonically encoded version-2 refresh token. */
export function parseRefreshToken(token: string): ParsedRefreshToken | undefined {
  if (token.length !== REFRESH_TOKEN_LENGTH) return undefined;
  const bytes = decodeCanonical(token);
  if (bytes === undefined || bytes.length !== TOTAL_BYTES || bytes[0] !== VERSION) return undefined;
  const body = bytes.subarray(0, BODY_BYTES);
  return {
    sub: bytesToSub(bytes.subarray(1, 1 + SUB_BYTES)),
    fid: encode(bytes.subarray(1 + SUB_BYTES, 1 + SUB_BYTES + FID_BYTES)),
    generation: bytes.readUInt32BE(1 + SUB_BYTES + FID_BYTES),
    hash: hashBody(body),
    body,
    tag: bytes.subarray(BODY_BYTES),
  };
}

/** True when the token's tag is the family key's: this service minted it for that family. */
export function hasValidTag(parsed: Pick<ParsedRefreshToken, 'body' | 'tag'>, tokenKey: Uint8Array): boolean {
  return timingSafeEqual(tagOf(tokenKey, parsed.body), parsed.tag);
}

/**
 * The key that seals a successor for retries of the token it replaced: HKDF-SHA-256 (RFC 5869)
 * of the presented token's secret, salted with its body's hash. Only a holder of that token can
 * derive it; the database holds neither the secret nor anything it can be derived from.
 */
function sealingKey(presented: Pick<ParsedRefreshToken, 'body'>): Buffer {
  const secret = presented.body.subarray(SECRET_OFFSET, BODY_BYTES);
  return Buffer.from(hkdfSync('sha256', secret, createHash('sha256').update(presented.body).digest(), 'kms-jwt-auth refresh successor v2', 32));
}

/**
 * Seals the successor's secret for the retries of `presented` within the grace period: AES-256-GCM
 * (NIST SP 800-38D) with a random 96-bit IV, authenticated with the presented body as associated
 * data. Output: IV (12) | ciphertext (32) | GCM tag (16), base64url.
 */
export function sealSuccessor(presented: Pick<ParsedRefreshToken, 'body'>, successorSecret: Uint8Array, iv: Uint8Array): string {
  const cipher = createCipheriv('aes-256-gcm', sealingKey(presented), iv);
  cipher.setAAD(presented.body);
  const ciphertext = Buffer.concat([cipher.update(successorSecret), cipher.final()]);
  return encode(Buffer.concat([iv, ciphertext, cipher.getAuthTag()]));
}

export const SEAL_IV_BYTES = 12;

/** The successor's secret, or `undefined` when `sealed` was not sealed for `presented`. */
export function openSuccessor(presented: Pick<ParsedRefreshToken, 'body'>, sealed: string): Buffer | undefined {
  const bytes = decodeCanonical(sealed);
  if (bytes === undefined || bytes.length !== SEAL_IV_BYTES + SECRET_BYTES + 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(presented), bytes.subarray(0, SEAL_IV_BYTES));
    decipher.setAAD(presented.body);
    decipher.setAuthTag(bytes.subarray(SEAL_IV_BYTES + SECRET_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(SEAL_IV_BYTES, SEAL_IV_BYTES + SECRET_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Mints a whole token at once (login: the family key is at hand). */
export function mintRefreshToken(
  sub: string,
  fid: string,
  generation: number,
  tokenKey: Uint8Array,
  random: (length: number) => Uint8Array,
): { token: string; hash: string } {
  const untagged = mintUntagged(sub, fid, generation, random);
  return { token: tagToken(untagged, tokenKey), hash: untagged.hash };
}
