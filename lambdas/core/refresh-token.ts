/**
 * Refresh tokens are opaque to clients and random: a version byte, the user's `sub` (16 bytes of
 * a UUID, to address the user's partition without a read), the secret family id (16 bytes) and
 * 32 random bytes (256 bits of entropy; RFC 6749 §10.10: at most 2^-160 to guess). The server
 * stores only their hash (`token-hash.ts`).
 *
 * The family id is secret on purpose: access tokens carry the *session* id (`sid`), which may be
 * logged by any API behind the authorizer; if the family id were the sid, anyone holding an access
 * token could forge a "reused" refresh token and kill the session.
 */
import { decodeCanonical, encode } from './base64url.ts';
import { hashBearerToken } from './token-hash.ts';

const VERSION = 1;
const SUB_BYTES = 16;
const FID_BYTES = 16;
const SECRET_BYTES = 32;
const TOTAL_BYTES = 1 + SUB_BYTES + FID_BYTES + SECRET_BYTES;
/** base64url length of TOTAL_BYTES, no padding. */
export const REFRESH_TOKEN_LENGTH = Math.ceil((TOTAL_BYTES * 4) / 3);

interface ParsedRefreshToken {
  readonly sub: string;
  readonly fid: string;
  readonly hash: string;
}

/** Renders a 16-byte sub as the canonical lowercase UUID form, or back. */
function subToBytes(sub: string): Buffer | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(sub)) return undefined;
  return Buffer.from(sub.replaceAll('-', ''), 'hex');
}

function bytesToSub(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newFamilyId(random: (length: number) => Uint8Array): string {
  return encode(random(FID_BYTES));
}

export function mintRefreshToken(
  sub: string,
  fid: string,
  random: (length: number) => Uint8Array,
): { token: string; hash: string } {
  const subBytes = subToBytes(sub);
  const fidBytes = decodeCanonical(fid);
  if (subBytes === undefined || fidBytes === undefined || fidBytes.length !== FID_BYTES) {
    throw new Error('Refresh tokens need a UUID sub and a 16-byte family id.');
  }
  const secret = random(SECRET_BYTES);
  if (secret.length !== SECRET_BYTES) throw new Error('Random source returned the wrong length.');
  const token = encode(Buffer.concat([Buffer.of(VERSION), subBytes, fidBytes, secret]));
  return { token, hash: hashBearerToken(token) };
}

/** `undefined` for anything that is not a well-formed, canonically encoded refresh token. */
export function parseRefreshToken(token: string): ParsedRefreshToken | undefined {
  if (token.length !== REFRESH_TOKEN_LENGTH) return undefined;
  const bytes = decodeCanonical(token);
  if (bytes === undefined || bytes.length !== TOTAL_BYTES || bytes[0] !== VERSION) return undefined;
  return {
    sub: bytesToSub(bytes.subarray(1, 1 + SUB_BYTES)),
    fid: encode(bytes.subarray(1 + SUB_BYTES, 1 + SUB_BYTES + FID_BYTES)),
    hash: hashBearerToken(token),
  };
}
