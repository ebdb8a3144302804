import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derToJoseSignature } from '../../../lambdas/core/ecdsa-signature.ts';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** DER: tag, short-form length, content. */
function tlv(tag: number, content: Uint8Array): Uint8Array {
  if (content.length >= 0x80) throw new Error('test helper only does short-form lengths');
  return Uint8Array.of(tag, content.length, ...content);
}
function derSignature(r: Uint8Array, s: Uint8Array): Uint8Array {
  return tlv(0x30, Uint8Array.of(...tlv(0x02, r), ...tlv(0x02, s)));
}
const bytes = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('derToJoseSignature on real signatures', () => {
  const rLengthOf = (der: Uint8Array): number => der[3] ?? 0;
  const sLengthOf = (der: Uint8Array): number => der[4 + rLengthOf(der) + 1] ?? 0;

  it('turns 200 DER signatures of a P-256 key into R||S signatures that verify as IEEE P1363', () => {
    let sawPaddedInteger = false;
    for (let i = 0; i < 200; i += 1) {
      const message = Buffer.from(`message ${i}`);
      const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
      if (rLengthOf(der) === 33 || sLengthOf(der) === 33) sawPaddedInteger = true;
      const jose = derToJoseSignature(der);
      expect(jose).toHaveLength(64);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
    }
    // Half of all integers have the high bit set, so 200 signatures certainly include sign padding.
    expect(sawPaddedInteger).toBe(true);
  });

  it('converts a real signature whose r or s is shorter than 32 bytes so that it still verifies', () => {
    // About 1 signature in 128 has a short r or s; 5000 tries miss with probability ~e^-39.
    for (let i = 0; i < 5000; i += 1) {
      const message = Buffer.from(`short ${i}`);
      const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
      if (rLengthOf(der) >= 32 && sLengthOf(der) >= 32) continue;
      const jose = derToJoseSignature(der);
      expect(jose).toHaveLength(64);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
      return;
    }
    expect.unreachable('no short-integer signature found in 5000 tries');
  });

  it('produces a signature that does not verify for another message', () => {
    const der = sign('sha256', Buffer.from('a'), { key: privateKey, dsaEncoding: 'der' });
    expect(verify('sha256', Buffer.from('b'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, derToJoseSignature(der))).toBe(false);
  });
});

describe('derToJoseSignature on hand-built DER', () => {
  it('left-pads a short r and s (leading zero bytes stripped by DER) to 32 bytes each', () => {
    const r = bytes(30, 0x11);
    const s = Uint8Array.of(0x05);
    const jose = derToJoseSignature(derSignature(r, s));
    expect(hex(jose)).toBe('0000' + '11'.repeat(30) + '00'.repeat(31) + '05');
  });

  it('drops the sign-padding zero of a 33-byte integer whose high bit is set', () => {
    const r = Uint8Array.of(0x00, ...bytes(32, 0x80));
    const s = Uint8Array.of(0x00, ...bytes(32, 0xff));
    expect(hex(derToJoseSignature(derSignature(r, s)))).toBe('80'.repeat(32) + 'ff'.repeat(32));
  });

  it('copies 32-byte integers unchanged', () => {
    expect(hex(derToJoseSignature(derSignature(bytes(32, 0x12), bytes(32, 0x34))))).toBe('12'.repeat(32) + '34'.repeat(32));
  });

  it('honours a non-default coordinate size (P-384: 48 bytes)', () => {
    const jose = derToJoseSignature(derSignature(bytes(47, 0x01), bytes(48, 0x02)), 48);
    expect(hex(jose)).toBe('00' + '01'.repeat(47) + '02'.repeat(48));
  });
});

describe('derToJoseSignature rejects malformed DER', () => {
  const good = derSignature(bytes(32, 0x12), bytes(32, 0x34));
  const reject = (der: Uint8Array): void => {
    expect(() => derToJoseSignature(der)).toThrow(Error);
  };

  it('accepts the baseline used by the negative cases below', () => expect(derToJoseSignature(good)).toHaveLength(64));
  it('rejects empty input', () => reject(new Uint8Array(0)));
  it('rejects a lone SEQUENCE tag', () => reject(Uint8Array.of(0x30)));
  it('rejects a SET (0x31) instead of a SEQUENCE', () => reject(Uint8Array.of(0x31, ...good.subarray(1))));
  it('rejects a BIT STRING (0x03) in place of the r INTEGER', () => {
    const der = Uint8Array.from(good);
    der[2] = 0x03;
    reject(der);
  });
  it('rejects an OCTET STRING (0x04) in place of the s INTEGER', () => {
    const der = Uint8Array.from(good);
    der[2 + 2 + 32] = 0x04;
    reject(der);
  });
  it('rejects a sequence length one longer than the input', () => {
    const der = Uint8Array.from(good);
    der[1] = (der[1] ?? 0) + 1;
    reject(der);
  });
  it('rejects a sequence length one shorter than the input', () => {
    const der = Uint8Array.from(good);
    der[1] = (der[1] ?? 0) - 1;
    reject(der);
  });
  it('rejects an integer length that runs past the end', () => {
    const der = Uint8Array.from(good);
    der[2 + 2 + 32 + 1] = 33;
    reject(der);
  });
  it('rejects an integer length that leaves the sequence unaccounted for', () => {
    const der = Uint8Array.from(good);
    der[3] = 31;
    reject(der);
  });
  it('rejects a zero-length integer', () => reject(derSignature(new Uint8Array(0), bytes(32, 1))));
  it('rejects a truncated signature (s missing)', () => reject(tlv(0x30, tlv(0x02, bytes(32, 1)))));
  it('rejects a trailing byte after the sequence', () => reject(Uint8Array.of(...good, 0x00)));
  it('rejects a third integer inside the sequence', () =>
    reject(tlv(0x30, Uint8Array.of(...tlv(0x02, bytes(20, 1)), ...tlv(0x02, bytes(20, 2)), ...tlv(0x02, Uint8Array.of(3))))));
  it('rejects an integer of 33 significant bytes', () => reject(derSignature(Uint8Array.of(0x01, ...bytes(32, 0x80)), bytes(32, 1))));
  it('rejects an integer of 34 bytes even after stripping one zero', () =>
    reject(derSignature(Uint8Array.of(0x00, 0x01, ...bytes(32, 0x80)), bytes(32, 1))));
  it('rejects a long-form length that is not 0x81', () => reject(Uint8Array.of(0x30, 0x82, 0x00, 0x44, ...good.subarray(2))));
  it('rejects a non-minimal long-form length (0x81 with a value below 0x80)', () =>
    reject(Uint8Array.of(0x30, 0x81, good[1] ?? 0, ...good.subarray(2))));
});
