/**
 * KMS returns ECDSA signatures DER-encoded (an ASN.1 `SEQUENCE { r INTEGER, s INTEGER }`, see the
 * KMS `Sign` API reference: "ECDSA ... signature ... DER-encoded object as defined by ANS X9.62–2005
 * and RFC 3279 Section 2.2.3"). JWS needs the fixed-width R||S form instead: RFC 7518 §3.4, 32 bytes
 * each for P-256, left-padded with zeros.
 */

export function derToJoseSignature(der: Uint8Array, coordinateBytes = 32): Uint8Array {
  let offset = 0;
  const expectByte = (value: number): void => {
    if (der[offset] !== value) throw new Error('Malformed DER ECDSA signature.');
    offset += 1;
  };
  const readLength = (): number => {
    const first = der[offset];
    offset += 1;
    if (first === undefined) throw new Error('Malformed DER ECDSA signature.');
    if (first < 0x80) return first;
    if (first !== 0x81) throw new Error('Malformed DER ECDSA signature.');
    const value = der[offset];
    offset += 1;
    if (value === undefined || value < 0x80) throw new Error('Malformed DER ECDSA signature.');
    return value;
  };
  const readInteger = (): Uint8Array => {
    expectByte(0x02);
    const length = readLength();
    if (length === 0 || offset + length > der.length) throw new Error('Malformed DER ECDSA signature.');
    let bytes = der.subarray(offset, offset + length);
    offset += length;
    // Strip the sign-padding zero DER adds when the high bit is set.
    while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
    if (bytes.length > coordinateBytes) throw new Error('ECDSA integer too large for the curve.');
    const out = new Uint8Array(coordinateBytes);
    out.set(bytes, coordinateBytes - bytes.length);
    return out;
  };

  expectByte(0x30);
  const sequenceLength = readLength();
  if (offset + sequenceLength !== der.length) throw new Error('Malformed DER ECDSA signature.');
  const r = readInteger();
  const s = readInteger();
  if (offset !== der.length) throw new Error('Malformed DER ECDSA signature.');
  const signature = new Uint8Array(coordinateBytes * 2);
  signature.set(r, 0);
  signature.set(s, coordinateBytes);
  return signature;
}
