/**
 * Password hashing with Argon2id at the OWASP Password Storage Cheat Sheet's first recommended
 * configuration: m=19456 KiB (19 MiB), t=2, p=1, stored as a PHC string. hash-wasm runs Argon2 in
 * WebAssembly embedded in the JS bundle, so the Lambda needs no native binary on either x86_64 or
 * arm64.
 */
import { argon2id, argon2Verify } from 'hash-wasm';
import type { PasswordHasher } from './ports.ts';

export interface Argon2Parameters {
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

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
export const MAX_PASSWORD_BYTES = 1024;

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
    return argon2id({
      password,
      salt: this.random(this.params.saltLength),
      parallelism: this.params.parallelism,
      iterations: this.params.iterations,
      memorySize: this.params.memoryKiB,
      hashLength: this.params.hashLength,
      outputType: 'encoded',
    });
  }

  async verify(phc: string, password: string): Promise<boolean> {
    if (!PHC.test(phc)) return false;
    try {
      return await argon2Verify({ password, hash: phc });
    } catch {
      return false;
    }
  }

  needsRehash(phc: string): boolean {
    const match = PHC.exec(phc);
    if (match === null) return true;
    const [, m, t, p, , hash] = match;
    return (
      Number(m) !== this.params.memoryKiB ||
      Number(t) !== this.params.iterations ||
      Number(p) !== this.params.parallelism ||
      Buffer.from(hash ?? '', 'base64').length !== this.params.hashLength
    );
  }
}
