/**
 * The PHC string format for Argon2id hashes, as the reference implementation writes them
 * (P-H-C/phc-string-format, "Argon2 Encoding"; RFC 9106 §4 for the parameters):
 *
 *   $argon2id$v=19$m=<memory KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
 *
 * salt and hash in standard base64 without padding. Decoding is strict and canonical (decimal
 * numbers without leading zeros, base64 that re-encodes to the same text), so every stored hash
 * has exactly one spelling, and bounded: the string comes from the users table, and the bounds
 * keep a damaged or tampered item from making one login allocate gigabytes or run for minutes.
 */

interface Argon2idPhc {
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

/** Argon2 version 1.3 (0x13), the only one RFC 9106 specifies and node:crypto computes. */
const VERSION = 19;

/**
 * What a stored hash may ask for. Generous enough for any parameter set the OWASP Password
 * Storage Cheat Sheet lists (up to m=47104 KiB, t=1) and for stronger ones; Node itself needs
 * memory >= 8·p KiB, a salt of at least 8 bytes and a tag of at least 4.
 */
export const PHC_LIMITS = {
  maxMemoryKiB: 1_048_576, // 1 GiB
  maxIterations: 64,
  maxParallelism: 16,
  saltBytes: { min: 8, max: 64 },
  hashBytes: { min: 16, max: 64 },
} as const;

const SHAPE = /^\$argon2id\$v=(\d{1,3})\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const DECIMAL = /^(0|[1-9]\d*)$/;

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

/** Canonical unpadded base64 only: Node's decoder ignores stray bits and characters, so check by re-encoding. */
function fromBase64(text: string): Uint8Array | undefined {
  const bytes = Buffer.from(text, 'base64');
  return toBase64(bytes) === text ? new Uint8Array(bytes) : undefined;
}

function decimal(text: string, min: number, max: number): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/** The parameters, salt and hash of an Argon2id PHC string, or undefined for anything else. */
export function decodeArgon2idPhc(phc: unknown): Argon2idPhc | undefined {
  if (typeof phc !== 'string' || phc.length > 512) return undefined;
  const match = SHAPE.exec(phc);
  if (match === null) return undefined;
  const [, v = '', m = '', t = '', p = '', saltText = '', hashText = ''] = match;
  if (decimal(v, VERSION, VERSION) === undefined) return undefined;
  const parallelism = decimal(p, 1, PHC_LIMITS.maxParallelism);
  if (parallelism === undefined) return undefined;
  const memoryKiB = decimal(m, 8 * parallelism, PHC_LIMITS.maxMemoryKiB);
  const iterations = decimal(t, 1, PHC_LIMITS.maxIterations);
  const salt = fromBase64(saltText);
  const hash = fromBase64(hashText);
  if (memoryKiB === undefined || iterations === undefined || salt === undefined || hash === undefined) return undefined;
  if (salt.length < PHC_LIMITS.saltBytes.min || salt.length > PHC_LIMITS.saltBytes.max) return undefined;
  if (hash.length < PHC_LIMITS.hashBytes.min || hash.length > PHC_LIMITS.hashBytes.max) return undefined;
  return { memoryKiB, iterations, parallelism, salt, hash };
}

export function encodeArgon2idPhc(phc: Argon2idPhc): string {
  return `$argon2id$v=${VERSION}$m=${phc.memoryKiB},t=${phc.iterations},p=${phc.parallelism}$${toBase64(phc.salt)}$${toBase64(phc.hash)}`;
}
