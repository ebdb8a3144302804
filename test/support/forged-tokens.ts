/**
 * Forged access tokens against the running local service, the way an attacker meets it: through
 * `GET /whoami` behind the local gateway and the unchanged authorizer, holding only what is
 * public (a genuine token of their own, the JWKS) and keys of their own. One token per forgery
 * recipe of the attack classes in test/unit/verifier/attacks.test.ts that needs no private key of ours (the recipes signed with our
 * key are covered at the verifier, test/unit/verifier/attacks.test.ts). Every forgery must get
 * 401; the genuine token, sent alongside, 200. `describeForgedTokens` runs it for one algorithm;
 * each algorithm has its own test file, because a local service reads its configuration once per
 * process.
 */
import { createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { request } from './http-client.ts';

const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64url');
const json = (value: unknown): string => b64(JSON.stringify(value));

/** P-256 group order (SEC 2 §2.4.2). */
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const be = (value: bigint, bytes: number): Buffer => Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex');
const int = (bytes: Buffer): bigint => BigInt(`0x${bytes.toString('hex')}`);

/** DER `SEQUENCE { INTEGER r, INTEGER s }` of a 64-byte R||S signature. */
function toDer(rs: Buffer): Buffer {
  const integer = (value: Buffer): Buffer => {
    let v = value;
    while (v.length > 1 && v[0] === 0 && (v[1] ?? 0) < 0x80) v = v.subarray(1);
    if ((v[0] ?? 0) >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([integer(rs.subarray(0, 32)), integer(rs.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** One forged token per recipe that needs no private key of ours, built from a genuine token and the JWKS entry of its key. */
export function buildForgeries(token: string, jwk: Record<string, unknown>, refreshToken: string): [string, string][] {
  const rsa = jwk['kty'] === 'RSA';
  const [h, p, s] = token.split('.') as [string, string, string];
  const kid = String(jwk['kid']);
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  const admin = json({ ...claims, sub: 'admin', scope: 'openid admin' });
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
  const es256 = (header: unknown, payload = admin, key: KeyObject = attacker.privateKey): string => {
    const input = `${typeof header === 'string' ? header : json(header)}.${payload}`;
    return `${input}.${b64(sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }))}`;
  };
  // Signed by an attacker key of the service's own algorithm, so that what is refused is the
  // header member or the key, not merely a wrong `alg`.
  const configuredAlg = rsa ? 'RS256' : 'ES256';
  const attackerSignature = (input: string): string =>
    b64(rsa ? sign('sha256', Buffer.from(input), attackerRsa.privateKey) : sign('sha256', Buffer.from(input), { key: attacker.privateKey, dsaEncoding: 'ieee-p1363' }));
  const forge = (header: Record<string, unknown>, payload = admin): string => {
    const input = `${json({ alg: configuredAlg, ...header })}.${payload}`;
    return `${input}.${attackerSignature(input)}`;
  };
  const hs256 = (header: unknown, key: string | Buffer, payload = admin): string => {
    const input = `${json(header)}.${payload}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };
  const ours = createPublicKey({ key: jwk as never, format: 'jwk' });
  const pem = ours.export({ format: 'pem', type: 'spki' }).toString();
  const der = ours.export({ format: 'der', type: 'spki' });
  const signature = Buffer.from(s, 'base64url');
  const withSignature = (bytes: Buffer): string => `${h}.${p}.${b64(bytes)}`;

  const list: [string, string][] = [];
  const add = (name: string, forged: string): void => {
    list.push([name, forged]);
  };
  // A. algorithm and signature stripping
  for (const alg of ['none', 'None', 'NONE', 'nOnE', 'NoNe']) {
    add(`A1 alg ${alg}`, `${json({ alg, typ: 'at+jwt', kid })}.${admin}.`);
    add(`A1 alg ${alg} keeping the signature`, `${json({ alg, typ: 'at+jwt', kid })}.${p}.${s}`);
  }
  add('A2 alg none with an unknown kid', `${json({ alg: 'none', kid: 'nope' })}.${admin}.`);
  add('A3 empty signature', `${h}.${p}.`);
  add('A3 no signature segment', `${h}.${p}`);
  for (const [name, key] of [['PEM', pem], ['PEM without newline', pem.trim()], ['DER', der], ['JWK JSON', JSON.stringify(jwk)], [rsa ? 'n' : 'x', Buffer.from(String(jwk[rsa ? 'n' : 'x']), 'base64url')]] as const) {
    add(`A4 HS256 keyed with our public key (${name})`, hs256({ alg: 'HS256', typ: 'at+jwt', kid }, key));
  }
  add('A5 HS256 with an empty secret', hs256({ alg: 'HS256', typ: 'at+jwt' }, ''));
  for (const alg of ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA', 'es256', 'ES256 ', 'ES256\u0000', 'rs256'].filter((a) => a !== configuredAlg)) {
    add(`A6 alg ${JSON.stringify(alg)} with our kid`, es256({ alg, typ: 'at+jwt', kid }));
    add(`A6 alg ${JSON.stringify(alg)} on the genuine token`, `${json({ alg, typ: 'at+jwt', kid })}.${p}.${s}`);
  }
  // B. attacker-chosen key material
  add('B1 embedded jwk', forge({ typ: 'at+jwt', jwk: attackerJwk }));
  add('B1 embedded jwk with our kid', forge({ typ: 'at+jwt', kid, jwk: attackerJwk }));
  add('B2 jku', forge({ typ: 'at+jwt', kid, jku: 'https://attacker.example/jwks.json' }));
  add('B3 x5u', forge({ typ: 'at+jwt', kid, x5u: 'https://attacker.example/cert.pem' }));
  add('B3 x5c', forge({ typ: 'at+jwt', kid, x5c: [der.toString('base64')] }));
  add('B3 x5t#S256', forge({ typ: 'at+jwt', kid, 'x5t#S256': b64('thumb') }));
  const rsaInput = `${json({ alg: 'RS256', typ: 'at+jwt', kid })}.${admin}`;
  add('B RS256 signed by an attacker key with our kid', `${rsaInput}.${b64(sign('sha256', Buffer.from(rsaInput), attackerRsa.privateKey))}`);
  for (const badKid of ['../../../../../../dev/null', '/dev/null', '/invalid_path', '', "x' UNION SELECT '1';--", '|sleep 10', '| curl https://attacker.example', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    add(`B4/B5/B6 kid ${JSON.stringify(badKid)} HS256`, hs256({ alg: 'HS256', typ: 'at+jwt', kid: badKid }, ''));
    add(`B4/B5/B6 kid ${JSON.stringify(badKid)} ES256`, forge({ typ: 'at+jwt', kid: badKid }));
  }
  for (const badKid of [123, {}, [], null, 'k'.repeat(65_536)]) {
    add(`B6 kid ${JSON.stringify(badKid).slice(0, 20)}`, forge({ typ: 'at+jwt', kid: badKid }));
  }
  add('B6 no kid', forge({ typ: 'at+jwt' }));
  // C. header semantics and token type
  for (const crit of [['x-unk'], [], ['alg'], ['exp'], 'b64']) {
    add(`C1 crit ${JSON.stringify(crit)}`, forge({ typ: 'at+jwt', kid, crit, 'x-unk': 1 }));
    add(`C1 crit ${JSON.stringify(crit)} on the genuine token`, `${json({ alg: configuredAlg, typ: 'at+jwt', kid, crit })}.${p}.${s}`);
  }
  const raw = JSON.stringify({ ...claims, sub: 'admin' });
  const b64false = json({ alg: configuredAlg, typ: 'at+jwt', kid, b64: false, crit: ['b64'] });
  add('C2 b64:false, raw payload', `${b64false}.${raw}.${attackerSignature(`${b64false}.${raw}`)}`);
  add('C2 b64:false, detached payload', `${b64false}..${s}`);
  add('C4 the refresh token as an access token', refreshToken);
  add('C4 typ JWT', `${json({ alg: configuredAlg, typ: 'JWT', kid })}.${p}.${s}`);
  add('C4 no typ', `${json({ alg: configuredAlg, kid })}.${p}.${s}`);
  add('C5 nested JWT', forge({ typ: 'at+jwt', kid, cty: 'JWT' }, b64(`${json({ alg: 'none' })}.${admin}.`)));
  add('C6 five segments (JWE shape)', `${h}.${p}.${s}.${p}.${s}`);
  add('C6 flattened JSON serialization', JSON.stringify({ protected: h, payload: p, signature: s }));
  add('C6 a fourth segment', `${token}.${p}`);
  // D. encoding, structure, size
  for (const shape of ['', '.', '..', h, `${h}.${p}`, `.${p}.${s}`, `${h}..${s}`, `${token}.`, `${token}.x`]) {
    add(`D1 shape ${shape.length > 12 ? `${shape.slice(0, 12)}…` : JSON.stringify(shape)} (${shape.length} chars)`, shape);
  }
  const segments = [h, p, s];
  segments.forEach((segment, i) => {
    const replace = (value: string): string => segments.map((x, j) => (j === i ? value : x)).join('.');
    add(`D2 segment ${i}: "=" padding`, replace(`${segment}=`));
    add(`D2 segment ${i}: "==" padding`, replace(`${segment}==`));
    if (/[-_]/.test(segment)) add(`D2 segment ${i}: + and / for - and _`, replace(segment.replace(/-/g, '+').replace(/_/g, '/')));
    add(`D2 segment ${i}: a space inside`, replace(`${segment.slice(0, 5)} ${segment.slice(5)}`));
    add(`D2 segment ${i}: a tab inside`, replace(`${segment.slice(0, 5)}\t${segment.slice(5)}`));
    for (const junk of ['?', '#', '$']) add(`D2 segment ${i}: ${junk} inserted`, replace(`${segment.slice(0, 5)}${junk}${segment.slice(5)}`));
    add(`D2 segment ${i}: length 1 mod 4`, replace(`${segment}${segment.length % 4 === 0 ? 'A' : segment.length % 4 === 3 ? 'AA' : 'AAA'}`));
  });
  // Not a forgery: the signature spelled with non-zero unused low bits in its last character
  // (ES256: 86 characters, RS256: 342) decodes to the genuine signature bytes, and RFC 4648 §3.5
  // lets a decoder accept it; header and payload are signed as text, so their spellings are fixed
  // (the D2 cases above).
  add('D4 "." x 1,000,000', '.'.repeat(1_000_000));
  add('D4 "a." x 500,000', 'a.'.repeat(500_000));
  add('D4 a 1 MiB kid', forge({ typ: 'at+jwt', kid: 'k'.repeat(1 << 20) }));
  add('D4 100k nested arrays', `${h}.${b64('['.repeat(100_000))}.${s}`);
  add('D4 a 21,830-character signature', `${h}.${p}.${'A'.repeat(21_830)}`);
  if (rsa) {
    // F. RSA signature values on the genuine header and payload (k = 256 bytes, RFC 8017 §8.2.2)
    const n = int(Buffer.from(String(jwk['n']), 'base64url'));
    add('F1 short signature (first byte dropped)', withSignature(signature.subarray(1)));
    add('F2 long signature (00 prepended)', withSignature(Buffer.concat([Buffer.alloc(1), signature])));
    add('F2 long signature (00 appended)', withSignature(Buffer.concat([signature, Buffer.alloc(1)])));
    add('F3 s + n (257 bytes)', withSignature(be(int(signature) + n, 257)));
    add('F3 s = n', withSignature(be(n, 256)));
    for (const [name, value] of [['0', 0n], ['1', 1n], ['n-1', n - 1n]] as const) add(`F4 s = ${name}`, withSignature(be(value, 256)));
    add('F zero-length signature', withSignature(Buffer.alloc(0)));
  } else {
    // E. ECDSA signature values on the genuine header and payload
    const r = int(signature.subarray(0, 32));
    const sv = int(signature.subarray(32));
    add('E1 psychic signature (64 zero bytes)', withSignature(Buffer.alloc(64)));
    const values = [0n, 1n, N - 1n, N];
    const label = (v: bigint): string => (v === N ? 'n' : v === N - 1n ? 'n-1' : String(v));
    for (const rv of values) for (const svv of values) add(`E2 r=${label(rv)} s=${label(svv)}`, withSignature(Buffer.concat([be(rv, 32), be(svv, 32)])));
    add('E3 r + n (33-byte r)', withSignature(Buffer.concat([be(r + N, 33), signature.subarray(32)])));
    add('E3 s + n (33-byte s)', withSignature(Buffer.concat([signature.subarray(0, 32), be(sv + N, 33)])));
    add('E3 r + 2^256 (33-byte r)', withSignature(Buffer.concat([be(r + (1n << 256n), 33), signature.subarray(32)])));
    for (const length of [0, 63, 65, 128]) add(`E4 ${length}-byte signature`, withSignature(Buffer.concat([signature, signature]).subarray(0, length)));
    add('E4 trailing zero', withSignature(Buffer.concat([signature, Buffer.alloc(1)])));
    add('E4 leading 00 on r', withSignature(Buffer.concat([Buffer.alloc(1), signature])));
    add('E4 DER instead of R||S', withSignature(toDer(signature)));
  }
  // G. claims: the genuine signature over a different payload
  add('G1 tampered payload (sub=admin), genuine signature', `${h}.${admin}.${s}`);
  add('G1 tampered payload, exp far in the future', `${h}.${json({ ...claims, exp: 9_999_999_999 })}.${s}`);
  add('G claims signed by an attacker key with our kid', forge({ typ: 'at+jwt', kid }, p));
  return list;
}


export function describeForgedTokens(signingAlg: 'ES256' | 'RS256'): void {
  const password = `forged tokens ${signingAlg} password`;
  let service: LocalService;
  let genuine = '';
  let forgeries: [string, string][] = [];
  const whoami = (authorization: string) => request(service.url, 'GET', '/whoami', { headers: { authorization } });

  beforeAll(async () => {
    service = await startLocalService({ port: 0, demoPassword: password, signingAlg });
    const login = await request(service.url, 'POST', '/login', { json: { username: 'demo', password } });
    genuine = String(login.body['access_token']);
    const jwks = await request(service.url, 'GET', '/.well-known/jwks.json');
    const [jwk] = jwks.body['keys'] as Record<string, unknown>[];
    expect(jwk?.['alg']).toBe(signingAlg);
    forgeries = buildForgeries(genuine, jwk ?? {}, String(login.body['refresh_token']));
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
  });

  describe(`forged ${signingAlg} access tokens through GET /whoami`, () => {
    it('builds a corpus covering every attack class that needs no key of ours', () => {
      const classes = new Set(forgeries.map(([name]) => name.slice(0, 1)));
      expect([...classes].sort()).toEqual(['A', 'B', 'C', 'D', signingAlg === 'RS256' ? 'F' : 'E', 'G'].sort());
      expect(forgeries.length).toBeGreaterThan(130);
    });

    it('answers 401 to every forgery and 200 to the genuine token sent alongside', async () => {
      const wrong: string[] = [];
      for (const [name, token] of forgeries) {
        const res = await whoami(`Bearer ${token}`);
        if (res.status !== 401) wrong.push(`${name}: ${res.status}`);
      }
      expect(wrong).toEqual([]);
      const res = await whoami(`Bearer ${genuine}`);
      expect(res.status).toBe(200);
      expect(res.body['sub']).not.toBe('admin');
    }, 120_000);

    it('answers 401 to a genuine token in a malformed Authorization header', async () => {
      for (const authorization of [genuine, `Basic ${genuine}`, `Bearer  ${genuine}`, `Bearer\t${genuine}`, `Bearer ${genuine} ${genuine}`, 'Bearer', 'Bearer ']) {
        expect((await whoami(authorization)).status, authorization.slice(0, 12)).toBe(401);
      }
    });
  });
}
