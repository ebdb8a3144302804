/**
 * Password hashing with Argon2id (RFC 9106) at the OWASP Password Storage Cheat Sheet's first
 * recommended configuration: m=19456 KiB (19 MiB), t=2, p=1, stored as a PHC string.
 *
 * node:crypto computes Argon2 (OpenSSL's implementation, Node >= 24.7): no native addon and no
 * WebAssembly, so the same code runs on arm64 and x86_64 Lambdas. The asynchronous `argon2` runs
 * on libuv's thread pool, so a hash does not stall the event loop of a process that serves
 * several requests at once (the local gateway, tests); in Lambda it costs the same as the
 * synchronous call. Hashes made earlier by hash-wasm are the same PHC strings and verify unchanged.
 */
import { argon2, timingSafeEqual } from 'node:crypto';
import { decodeArgon2idPhc, encodeArgon2idPhc } from './argon2-phc.ts';
import type { PasswordHasher } from './ports.ts';

interface Argon2Parameters {
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
  readonly hashLength: number;
  readonly saltLength: number;
}

/** OWASP Password Storage Cheat Sheet, "Argon2id": m=19456 (19 MiB), t=2, p=1. */
export const OWASP_ARGON2ID: Argon2Parameters = {
  memoryKiB: 19_456,
  iterations: 2,
  parallelism: 1,
  hashLength: 32,
  saltLength: 16,
};

/** One Argon2id computation: the parameters, with the salt itself instead of its length. */
type Argon2Run = Omit<Argon2Parameters, 'saltLength'> & { readonly salt: Uint8Array };

function argon2idTag(password: string, run: Argon2Run): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // A string message is encoded as UTF-8, as hash-wasm did, so stored hashes keep verifying.
    argon2(
      'argon2id',
      {
        message: password,
        nonce: run.salt,
        parallelism: run.parallelism,
        tagLength: run.hashLength,
        memory: run.memoryKiB,
        passes: run.iterations,
      },
      (error, tag) => (error === null ? resolve(tag) : reject(error)),
    );
  });
}

export class Argon2idHasher implements PasswordHasher {
  readonly decoyHash: Promise<string>;

  constructor(
    private readonly params: Argon2Parameters = OWASP_ARGON2ID,
    private readonly random: (length: number) => Uint8Array,
  ) {
    // Hash a random password once per container; verifying against it costs what a real user costs.
    this.decoyHash = this.hash(Buffer.from(random(24)).toString('base64'));
  }

  async hash(password: string): Promise<string> {
    const salt = this.random(this.params.saltLength);
    const hash = await argon2idTag(password, { ...this.params, salt });
    return encodeArgon2idPhc({ ...this.params, salt, hash });
  }

  /**
   * Recomputes the tag with the stored parameters and salt and compares in constant time. A
   * string that is not a well-formed Argon2id PHC string within bounds is false, never an error;
   * a failure of the computation itself (e.g. memory) is a fault and propagates.
   */
  async verify(phc: string, password: string): Promise<boolean> {
    const stored = decodeArgon2idPhc(phc);
    if (stored === undefined) return false;
    const computed = await argon2idTag(password, { ...stored, hashLength: stored.hash.length });
    return timingSafeEqual(computed, stored.hash);
  }

  needsRehash(phc: string): boolean {
    const stored = decodeArgon2idPhc(phc);
    return (
      stored === undefined ||
      stored.memoryKiB !== this.params.memoryKiB ||
      stored.iterations !== this.params.iterations ||
      stored.parallelism !== this.params.parallelism ||
      stored.hash.length !== this.params.hashLength
    );
  }
}
