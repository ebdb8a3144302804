/**
 * Every attack class on a JWS verifier (A-G below, after RFC 8725 §2), one test per behaviour, each
 * named as the sentence it specifies. Keys are generated per run; the clock is pinned at NOW.
 */
import { constants, createHash, createHmac, createPublicKey, generateKeyPairSync, privateEncrypt, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AccessTokenVerifier, UnknownKeyIdError, verifyAccessToken } from '../../../lambdas/core/access-token-verifier.ts';
import { InvalidTokenError } from '../../../lambdas/core/errors.ts';
import { verificationKeysFromJwks } from '../../../lambdas/core/verification-key.ts';
import { AUD, b64, claims, generateTestKey, headerFor, ISS, keyMap, NOW, policyFor, signRaw, signToken, validToken } from './token-factory.ts';
import type { TestKey } from './token-factory.ts';

const K = generateTestKey('ES256');
const R = generateTestKey('RS256');
const A = generateTestKey('ES256');
const AR = generateTestKey('RS256');
const keys = keyMap(K, R);
const policy = policyFor(['ES256', 'RS256']);
const esOnly = policyFor(['ES256']);

function verify(token: unknown, now = NOW, p = policy) {
  return verifyAccessToken(token, p, keys, now);
}
async function expectReject(token: unknown, reason?: RegExp, now = NOW, p = policy): Promise<void> {
  let error: unknown;
  try {
    await verify(token, now, p);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidTokenError);
  if (reason !== undefined) expect((error as InvalidTokenError).description).toMatch(reason);
}
const parts = (token: string): [string, string, string] => token.split('.') as [string, string, string];
const T0 = validToken(K);
const hmac = (alg: 'HS256' | 'HS384' | 'HS512', input: string, key: string | Buffer): string =>
  createHmac(`sha${alg.slice(2)}`, key).update(input).digest('base64url');

describe('baseline', () => {
  it('accepts the genuine ES256 token', async () => expect((await verify(T0)).sub).toBe('u1'));
  it('accepts the genuine RS256 token', async () => expect((await verify(validToken(R))).sub).toBe('u1'));
  it('accepts a token whose audience array contains ours (RFC 7519 §4.1.3)', async () =>
    expect((await verify(validToken(K, { aud: ['other', AUD] }))).aud).toBe(AUD));
});

describe('A. algorithm and signature stripping', () => {
  for (const none of ['none', 'None', 'NONE', 'nOnE', 'NoNe']) {
    it(`rejects alg "${none}" with an empty signature`, async () => {
      await expectReject(`${b64(JSON.stringify({ alg: none, typ: 'at+jwt', kid: K.kid }))}.${b64(JSON.stringify(claims({ sub: 'admin' })))}.`);
    });
    it(`rejects alg "${none}" that keeps the genuine signature`, async () => {
      const h = b64(JSON.stringify({ alg: none, typ: 'at+jwt', kid: K.kid }));
      await expectReject(`${h}.${b64(JSON.stringify(claims({ sub: 'admin' })))}.${parts(T0)[2]}`, /algorithm/);
    });
  }

  it('rejects alg none with an unknown kid, so a missing key never means "no signature needed" (CVE-2022-23540)', async () => {
    const h = b64(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'nope' }));
    await expectReject(`${h}.${b64(JSON.stringify(claims()))}.`);
    await expect(verifyAccessToken(`${h}.${b64(JSON.stringify(claims()))}.x`, policy, new Map(), NOW)).rejects.toThrow(InvalidTokenError);
  });

  it('rejects the genuine header and payload with an empty signature (h.p.)', async () => {
    const [h, p] = parts(T0);
    await expectReject(`${h}.${p}.`);
  });

  it('rejects the genuine header and payload without a signature segment (h.p)', async () => {
    const [h, p] = parts(T0);
    await expectReject(`${h}.${p}`);
  });

  describe('HS256/384/512 keyed with our public key (key confusion)', () => {
    const ecJwk = K.publicKey.export({ format: 'jwk' });
    const rsaJwk = R.publicKey.export({ format: 'jwk' });
    const serializations: [string, string | Buffer][] = [];
    for (const [name, key, jwk] of [['EC', K, ecJwk], ['RSA', R, rsaJwk]] as const) {
      const pem = key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      serializations.push([`${name} SPKI PEM with trailing newline`, pem]);
      serializations.push([`${name} SPKI PEM without trailing newline`, pem.trimEnd()]);
      serializations.push([`${name} DER SPKI`, key.publicKey.export({ format: 'der', type: 'spki' })]);
      serializations.push([`${name} JWK JSON`, JSON.stringify(jwk)]);
    }
    serializations.push(['RSA PKCS#1 PEM', R.publicKey.export({ format: 'pem', type: 'pkcs1' }).toString()]);
    serializations.push(['RSA raw n', Buffer.from(rsaJwk.n ?? '', 'base64url')]);
    serializations.push([
      'EC raw 04||x||y',
      Buffer.concat([Buffer.from([4]), Buffer.from(ecJwk.x ?? '', 'base64url'), Buffer.from(ecJwk.y ?? '', 'base64url')]),
    ]);
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      for (const [name, secret] of serializations) {
        for (const kid of [K.kid, R.kid]) {
          it(`rejects ${alg} keyed with the ${name} (kid ${kid === K.kid ? 'EC' : 'RSA'})`, async () => {
            const input = `${b64(JSON.stringify({ alg, typ: 'at+jwt', kid }))}.${b64(JSON.stringify(claims({ sub: 'admin' })))}`;
            await expectReject(`${input}.${hmac(alg, input, secret)}`, /algorithm/);
          });
        }
      }
    }
  });

  it('rejects HS256 with a blank secret', async () => {
    const input = `${b64(JSON.stringify({ alg: 'HS256' }))}.${b64(JSON.stringify(claims()))}`;
    await expectReject(`${input}.${hmac('HS256', input, '')}`);
  });

  for (const alg of ['ES384', 'ES512', 'PS256', 'EdDSA', 'es256', 'ES256 ', 'ES256\u0000']) {
    it(`rejects alg ${JSON.stringify(alg)} with our EC kid`, async () => {
      await expectReject(signToken(headerFor(K, { alg }), claims(), K), /algorithm/);
    });
  }

  it('rejects RS256 in the header with the EC key kid (the key decides the algorithm)', async () => {
    await expectReject(signToken(headerFor(K, { alg: 'RS256' }), claims(), K), /does not match key/);
  });

  it('rejects ES256 in the header with the RSA key kid', async () => {
    await expectReject(signToken(headerFor(R, { alg: 'ES256' }), claims(), R), /does not match key/);
  });

  it('rejects RS256 when only ES256 is configured', async () => {
    await expectReject(validToken(R), /algorithm not allowed/, NOW, esOnly);
  });

  for (const alg of [['ES256'], null, 256, {}]) {
    it(`rejects a non-string alg ${JSON.stringify(alg)}`, async () => await expectReject(signToken(headerFor(K, { alg }), claims(), K), /algorithm|malformed/));
  }

  it('rejects a header without alg (RFC 7515 §4.1.1)', async () => {
    await expectReject(signToken({ typ: 'at+jwt', kid: K.kid }, claims(), K), /algorithm|malformed/);
  });
});

describe('B. attacker-chosen key material', () => {
  const attackerJwk = A.publicKey.export({ format: 'jwk' });
  it('rejects an embedded jwk signed with the attacker key', async () => {
    await expectReject(signToken({ alg: 'ES256', typ: 'at+jwt', jwk: attackerJwk }, claims(), A), /header parameter/);
  });
  it('rejects an embedded jwk that keeps our kid', async () => {
    await expectReject(signToken({ ...headerFor(K), jwk: attackerJwk }, claims(), A), /header parameter/);
  });
  it('rejects an embedded RSA jwk', async () => {
    await expectReject(signToken({ alg: 'RS256', typ: 'at+jwt', jwk: AR.publicKey.export({ format: 'jwk' }) }, claims(), AR));
  });

  for (const jku of [
    'https://attacker.example/jwks.json',
    'https://auth.example.test@attacker.example/jwks.json',
    'https://auth.example.test#@attacker.example/jwks.json',
    'https://auth.example.test/redirect?to=https://attacker.example/jwks.json',
  ]) {
    it(`rejects jku ${jku} without fetching anything`, async () => {
      const fetched: string[] = [];
      const original = globalThis.fetch;
      globalThis.fetch = ((input: string | URL | Request) => {
        fetched.push(String(input));
        return Promise.reject(new Error('blocked'));
      }) as typeof fetch;
      try {
        await expectReject(signToken({ alg: 'RS256', typ: 'at+jwt', jku, kid: R.kid }, claims(), AR), /header parameter/);
      } finally {
        globalThis.fetch = original;
      }
      expect(fetched).toEqual([]);
    });
  }

  for (const [name, value] of [
    ['x5u', 'https://attacker.example/cert.pem'],
    ['x5c', ['MIIBszCCAVmgAwIBAgIUQ']],
    ['x5t', 'dGh1bWJwcmludA'],
    ['x5t#S256', 'c2hhMjU2dGh1bWJwcmludA'],
  ] as const) {
    it(`rejects header ${name} signed with the attacker key`, async () => {
      await expectReject(signToken({ ...headerFor(K), [name]: value }, claims(), A), /header parameter/);
    });
    it(`rejects header ${name} even when signed with our key`, async () => {
      await expectReject(signToken({ ...headerFor(K), [name]: value }, claims(), K), /header parameter/);
    });
  }

  for (const kid of ['../../../../../../dev/null', '/dev/null', '/invalid_path', '']) {
    it(`rejects kid ${JSON.stringify(kid)} with HS256 and an empty key`, async () => {
      const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid }))}.${b64(JSON.stringify(claims()))}`;
      await expectReject(`${input}.${hmac('HS256', input, '')}`);
    });
    it(`rejects kid ${JSON.stringify(kid)} with ES256 signed by the attacker`, async () => {
      await expectReject(signToken({ alg: 'ES256', typ: 'at+jwt', kid }, claims(), A));
    });
  }

  it('rejects an SQL-injection kid with HS256 keyed "1"', async () => {
    const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: "x' UNION SELECT '1';--" }))}.${b64(JSON.stringify(claims()))}`;
    await expectReject(`${input}.${hmac('HS256', input, '1')}`);
  });

  for (const kid of ['|sleep 10', '| curl https://attacker.example']) {
    it(`rejects command-injection kid ${JSON.stringify(kid)} at once and without side effects`, async () => {
      const start = performance.now();
      await expectReject(signToken({ alg: 'ES256', typ: 'at+jwt', kid }, claims(), A), /unknown key/);
      expect(performance.now() - start).toBeLessThan(200);
    });
  }

  it('rejects a missing kid', async () => await expectReject(signToken({ alg: 'ES256', typ: 'at+jwt' }, claims(), K), /key id/));
  it('rejects an unknown kid with UnknownKeyIdError so the caller may reload', async () =>
    await expect(verify(validToken(A))).rejects.toThrow(UnknownKeyIdError));
  for (const kid of [123, {}, [], 'x'.repeat(65536)]) {
    it(`rejects kid ${typeof kid === 'string' ? '"x"×65536' : JSON.stringify(kid)}`, async () => {
      await expectReject(signToken({ alg: 'ES256', typ: 'at+jwt', kid }, claims(), K));
    });
  }
  for (const kid of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    it(`rejects kid ${kid}, which a plain-object key map would resolve`, async () => {
      await expectReject(signToken({ alg: 'ES256', typ: 'at+jwt', kid }, claims(), K), /unknown key/);
    });
  }

  describe('B7 bad key configuration in a JWKS', () => {
    const jwkOf = (k: TestKey) => k.publicKey.export({ format: 'jwk' });
    it('refuses a key with use "enc"', async () => expect(() => verificationKeysFromJwks({ keys: [{ ...jwkOf(K), use: 'enc' }] })).toThrow());
    it('refuses a key whose key_ops lack verify', async () =>
      expect(() => verificationKeysFromJwks({ keys: [{ ...jwkOf(K), key_ops: ['encrypt'] }] })).toThrow());
    it('refuses a 1024-bit RSA key', async () => {
      const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
      expect(() => verificationKeysFromJwks({ keys: [small] })).toThrow(/2048/);
    });
    it('refuses an RSA key with e = 1', async () =>
      expect(() => verificationKeysFromJwks({ keys: [{ ...jwkOf(R), e: 'AQ' }] })).toThrow());
    it('refuses an EC point that is not on the curve', async () => {
      const jwk = jwkOf(K);
      const y = Buffer.from(jwk.y ?? '', 'base64url');
      y[31] = (y[31] ?? 0) ^ 1;
      expect(() => verificationKeysFromJwks({ keys: [{ ...jwk, y: y.toString('base64url') }] })).toThrow();
    });
    it('refuses a P-384 key', async () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'jwk' });
      expect(() => verificationKeysFromJwks({ keys: [p384] })).toThrow(/P-256/);
    });
    it('refuses a set that mixes public and private keys', async () => {
      const priv = K.privateKey.export({ format: 'jwk' });
      expect(() => verificationKeysFromJwks({ keys: [jwkOf(R), priv] })).toThrow(/public keys only/);
    });
  });
});

describe('C. header semantics and token type', () => {
  for (const crit of [['x-unk'], [], ['alg'], ['exp'], 'b64']) {
    it(`rejects crit ${JSON.stringify(crit)}`, async () => {
      await expectReject(signToken({ ...headerFor(K), crit, 'x-unk': 1 }, claims(), K), /header parameter|malformed/);
    });
  }

  it('rejects b64:false with crit, as h.RAW.sig', async () => {
    const h = b64(JSON.stringify({ ...headerFor(K), b64: false, crit: ['b64'] }));
    const raw = JSON.stringify(claims());
    await expectReject(`${h}.${raw}.${b64(signRaw(`${h}.${raw}`, K))}`);
  });
  it('rejects b64:false with crit, detached (h..sig)', async () => {
    const h = b64(JSON.stringify({ ...headerFor(K), b64: false, crit: ['b64'] }));
    await expectReject(`${h}..${b64(signRaw(`${h}.${JSON.stringify(claims())}`, K))}`);
  });
  it('rejects b64:false without crit', async () => {
    await expectReject(signToken({ ...headerFor(K), b64: false }, claims(), K), /header parameter/);
  });

  // Duplicate member names: RFC 7515 §4 and RFC 7519 §4 let a recipient either reject them or
  // take "the lexically last duplicate member name" (ECMAScript JSON.parse), which jose does. Both
  // header and payload are covered by the signature, so a duplicate can only come from a token our
  // own KMS key signed: the one reading every JOSE library applies is the one that matters, and
  // the allow-list still judges the member that wins.
  const claimsText = JSON.stringify(claims()).slice(1, -1);
  it('reads a header with alg twice (ES256 then none) as alg none, and rejects it', async () => {
    await expectReject(signToken(`{"alg":"ES256","alg":"none","typ":"at+jwt","kid":"${K.kid}"}`, claims(), K), /algorithm not allowed/);
  });
  it('reads a header with alg twice (none then ES256) as the last one, ES256 (RFC 7515 §4)', async () => {
    expect((await verify(signToken(`{"alg":"none","alg":"ES256","typ":"at+jwt","kid":"${K.kid}"}`, claims(), K))).sub).toBe('u1');
  });
  it('reads a signed payload with sub twice as the last sub (RFC 7519 §4)', async () => {
    expect((await verify(signToken(headerFor(K), `{${claimsText},"sub":"admin"}`, K))).sub).toBe('admin');
  });
  it('reads a signed payload with exp twice as the last exp, so an expired exp followed by a live one is live', async () => {
    const text = JSON.stringify(claims({ exp: NOW - 10 })).slice(0, -1);
    expect((await verify(signToken(headerFor(K), `${text},"exp":${NOW + 9999}}`, K))).exp).toBe(NOW + 9999);
  });
  it('reads a signed payload with exp twice as the last exp, so a live exp followed by an expired one is expired', async () => {
    const text = JSON.stringify(claims({ exp: NOW + 9999 })).slice(0, -1);
    await expectReject(signToken(headerFor(K), `${text},"exp":${NOW - 10}}`, K), /expired/);
  });
  it('reads a signed payload with aud twice as the last aud', async () => {
    const text = JSON.stringify(claims({ aud: AUD })).slice(0, -1);
    await expectReject(signToken(headerFor(K), `${text},"aud":"x"}`, K), /audience/);
  });

  it('rejects a token without typ', async () => {
    await expectReject(signToken({ alg: 'ES256', kid: K.kid }, claims(), K), /type/);
  });
  it('rejects typ "JWT"', async () => await expectReject(signToken(headerFor(K, { typ: 'JWT' }), claims(), K), /type/));
  it('rejects an ID-token-shaped token (token_use id, nonce, typ JWT)', async () => {
    await expectReject(signToken(headerFor(K, { typ: 'JWT' }), claims({ token_use: 'id', aud: 'mobile', nonce: 'n' }), K));
  });
  it('rejects a refresh-type token even when typ says at+jwt, because its aud is not ours', async () => {
    await expectReject(signToken(headerFor(K, { typ: 'refresh+jwt' }), claims({ token_use: 'refresh' }), K), /type/);
  });
  // RFC 9068 §4: resource servers MUST accept "at+jwt" or "application/at+jwt"; RFC 7515 §4.1.9:
  // typ is a media type, so case-insensitive, with "application/" implied when there is no "/".
  it('accepts typ "application/at+jwt" (RFC 9068 §4 names both spellings)', async () => {
    expect((await verify(signToken(headerFor(K, { typ: 'application/at+jwt' }), claims(), K))).sub).toBe('u1');
  });
  it('accepts typ "AT+JWT" (media types are case-insensitive, RFC 7515 §4.1.9)', async () => {
    expect((await verify(signToken(headerFor(K, { typ: 'AT+JWT' }), claims(), K))).sub).toBe('u1');
  });
  it('rejects typ "application/jwt" and "at+jwt; x=1"', async () => {
    await expectReject(signToken(headerFor(K, { typ: 'application/jwt' }), claims(), K), /type/);
    await expectReject(signToken(headerFor(K, { typ: 'at+jwt; x=1' }), claims(), K), /type/);
  });

  it('rejects a nested JWT (cty JWT) whose inner token is alg none with sub admin', async () => {
    const inner = `${b64('{"alg":"none"}')}.${b64(JSON.stringify(claims({ sub: 'admin' })))}.`;
    await expectReject(signToken(headerFor(K, { cty: 'JWT' }), inner, K), /header parameter/);
  });
  it('rejects a nested JWT whose inner token is signed by the attacker', async () => {
    await expectReject(signToken(headerFor(K, { cty: 'JWT' }), validToken(A), K), /header parameter/);
  });

  it('rejects a JWE-shaped token with five segments', async () => await expectReject(`${T0}.AAAA.BBBB`, /malformed/));
  it('rejects the flattened JSON serialization', async () => {
    const [h, p, s] = parts(T0);
    await expectReject(JSON.stringify({ protected: h, payload: p, signature: s }), /malformed/);
  });
  it('rejects a token with an extra fourth segment', async () => await expectReject(`${T0}.${parts(T0)[2]}`, /malformed/));
});

describe('D. encoding, structure, size', () => {
  const [h, p, s] = parts(T0);
  for (const shape of ['', '.', '..', h, `${h}.${p}`, `.${p}.${s}`, `${h}..${s}`, `${T0}.`, `${T0}.x`]) {
    it(`rejects the segment shape ${JSON.stringify(shape.replace(h, 'h').replace(p, 'p').replace(s, 's'))}`, async () => await expectReject(shape));
  }

  const segments: [string, number][] = [['header', 0], ['payload', 1], ['signature', 2]];
  for (const [name, index] of segments) {
    const variant = (f: (seg: string) => string): string => {
      const copy = [...parts(T0)];
      copy[index] = f(copy[index] ?? '');
      return copy.join('.');
    };
    it(`rejects "=" padding on the ${name}`, async () => await expectReject(variant((x) => `${x}==`)));
    it(`rejects "+" or "/" in the ${name}`, async () => await expectReject(variant((x) => `${x.slice(0, 2)}+/${x.slice(4)}`)));
    for (const ws of [' ', '\t', '\r\n']) {
      it(`rejects ${JSON.stringify(ws)} inside the ${name}`, async () => await expectReject(variant((x) => `${x.slice(0, 3)}${ws}${x.slice(3)}`)));
    }
    for (const ch of ['?', '#', '$']) {
      it(`rejects "${ch}" inside the ${name}`, async () => await expectReject(variant((x) => `${x.slice(0, 3)}${ch}${x.slice(3)}`)));
    }
    it(`rejects a ${name} whose length is 1 mod 4`, async () =>
      await expectReject(
        variant((x) => {
          let y = x;
          while (y.length % 4 !== 1) y += 'A';
          return y;
        }),
      ));
  }

  // RFC 4648 §3.5 lets decoders accept non-zero pad bits ("MAY chose to reject"); jose's decoder
  // does. Only the signature segment can be spelled so: the header and payload are signed as
  // text, so any other spelling of them fails the signature. The same signature bytes verify the
  // same claims: nothing an attacker gains.
  it('reads a signature spelled with non-zero trailing bits as the same signature bytes, so the same claims', async () => {
    const last = s.charCodeAt(s.length - 1);
    const tweaked = `${s.slice(0, -1)}${String.fromCharCode(last + 1)}`;
    expect(Buffer.from(tweaked, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    const outcome = await verify(`${h}.${p}.${tweaked}`).then((c) => c.jti, () => 'rejected');
    expect(['rejected', 'jti-1']).toContain(outcome);
  });
  it('rejects non-zero trailing bits in the signed header: they change the signing input', async () => {
    const last = h.charCodeAt(h.length - 1);
    await expectReject(`${h.slice(0, -1)}${String.fromCharCode(last + 1)}.${p}.${s}`);
  });
  it('rejects a leading space before the token', async () => await expectReject(` ${T0}`));

  const signedHeader = (text: string) => signToken(text, claims(), K);
  for (const [name, headerText] of [
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"x"'],
    ['JSON followed by garbage', `{"alg":"ES256","typ":"at+jwt","kid":"${K.kid}"}x`],
    ['a lone surrogate escape', `{"alg":"ES256","typ":"at+jwt","kid":"${K.kid}","x":"\\ud800"}`],
  ] as const) {
    it(`rejects a header that is ${name}`, async () => await expectReject(signedHeader(headerText)));
  }
  // RFC 8259 §8.1: a parser "MAY ignore the presence of a byte order mark rather than treating it
  // as an error"; jose's UTF-8 decoder drops a leading BOM. The header is signed text, so only our
  // signer could have put one there.
  it('reads a signed header that starts with a UTF-8 BOM as the JSON after it', async () => {
    expect((await verify(signedHeader(`\ufeff{"alg":"ES256","typ":"at+jwt","kid":"${K.kid}"}`))).sub).toBe('u1');
  });
  it('rejects invalid UTF-8 (overlong C0 80) in the payload', async () => {
    const hh = b64(JSON.stringify(headerFor(K)));
    const pp = b64(Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xc0, 0x80]), Buffer.from('"}')]));
    await expectReject(`${hh}.${pp}.${b64(signRaw(`${hh}.${pp}`, K))}`, /malformed/);
  });
  const payloadBytes = (bytes: number[]) => {
    const hh = b64(JSON.stringify(headerFor(K)));
    const pp = b64(Buffer.concat([Buffer.from('{"sub":"'), Buffer.from(bytes), Buffer.from('"}')]));
    return `${hh}.${pp}.${b64(signRaw(`${hh}.${pp}`, K))}`;
  };
  for (const [name, bytes] of [
    ['an encoded surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a truncated sequence (E2 82)', [0xe2, 0x82]],
    ['a stray continuation byte (80)', [0x80]],
    ['a code point past U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
    ['a genuine U+FFFD next to an overlong form', [0xef, 0xbf, 0xbd, 0xc0, 0x80]],
  ] as const) {
    it(`rejects invalid UTF-8 in the payload: ${name}`, async () => await expectReject(payloadBytes([...bytes]), /malformed/));
  }
  it('accepts a genuine, encoded U+FFFD in a claim (valid UTF-8, unlike the sequences it replaces)', async () => {
    expect((await verify(validToken(K, { sub: 'a\uFFFDb' }))).sub).toBe('a\uFFFDb');
  });
  it('rejects the payload 123', async () => await expectReject(signToken(headerFor(K), '123', K), /malformed/));

  const bounded = async (token: string): Promise<void> => {
    const start = performance.now();
    await expectReject(token, /too long|malformed/);
    expect(performance.now() - start).toBeLessThan(50);
  };
  it('rejects "." × 1,000,000 before splitting, in bounded time', async () => await bounded('.'.repeat(1_000_000)));
  it('rejects "a." × 500,000 before splitting, in bounded time', async () => await bounded('a.'.repeat(500_000)));
  it('rejects a 1 MiB header (long kid) before decoding', async () =>
    await bounded(signToken(headerFor(K, { kid: 'k'.repeat(1 << 20) }), claims(), K)));
  it('rejects 100k nested arrays in the payload', async () => await bounded(`${h}.${b64('['.repeat(100_000))}.${s}`));
  it('rejects deep nesting that fits under the length cap', async () => {
    await expectReject(signToken(headerFor(K), `{"x":${'['.repeat(1000)}${']'.repeat(1000)}}`, K));
  });
  it('rejects an ES256 signature segment of 21,830 characters', async () => await bounded(`${h}.${p}.${'A'.repeat(21_830)}`));
});

/** The P-256 group order n. */
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const be = (value: bigint, bytes: number): Buffer => Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex');
function withSignature(token: string, signature: Buffer): string {
  const [hh, pp] = parts(token);
  return `${hh}.${pp}.${b64(signature)}`;
}

describe('E. ECDSA signature values', () => {
  it('rejects the psychic signature (64 zero bytes, CVE-2022-21449)', async () => {
    await expectReject(withSignature(T0, Buffer.alloc(64)), /signature/);
    expect(parts(withSignature(T0, Buffer.alloc(64)))[2]).toBe('A'.repeat(86));
  });

  const values: [string, bigint][] = [['0', 0n], ['1', 1n], ['n-1', N - 1n], ['n', N]];
  for (const [rn, r] of values) {
    for (const [sn, sv] of values) {
      it(`rejects r = ${rn}, s = ${sn}`, async () => await expectReject(withSignature(T0, Buffer.concat([be(r, 32), be(sv, 32)])), /signature/));
    }
  }

  const sig = Buffer.from(parts(T0)[2], 'base64url');
  const r = BigInt(`0x${sig.subarray(0, 32).toString('hex')}`);
  const sv = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  it('rejects r + n when it still fits in 32 bytes, or overflows', async () => {
    const rr = r + N;
    const encoded = rr < 2n ** 256n ? be(rr, 32) : be(rr, 33);
    await expectReject(withSignature(T0, Buffer.concat([encoded, be(sv, 32)])), /signature/);
  });
  it('rejects s + n', async () => {
    const ss = sv + N;
    await expectReject(withSignature(T0, Buffer.concat([be(r, 32), ss < 2n ** 256n ? be(ss, 32) : be(ss, 33)])), /signature/);
  });
  it('rejects r + 2^256 (33 bytes)', async () => await expectReject(withSignature(T0, Buffer.concat([be(r + 2n ** 256n, 33), be(sv, 32)])), /signature/));

  for (const length of [0, 63, 65, 128]) {
    it(`rejects a ${length}-byte signature`, async () => {
      const bytes = Buffer.alloc(length, 1);
      sig.copy(bytes, 0, 0, Math.min(64, length));
      await expectReject(length === 0 ? `${parts(T0)[0]}.${parts(T0)[1]}.` : withSignature(T0, bytes));
    });
  }
  it('rejects the signature with trailing zero bytes', async () => await expectReject(withSignature(T0, Buffer.concat([sig, Buffer.alloc(2)])), /signature/));
  it('rejects a leading 00 pad on r', async () =>
    await expectReject(withSignature(T0, Buffer.concat([Buffer.from([0]), sig])), /signature/));
  it('rejects the DER encoding of the same signature', async () => {
    const [hh, pp] = parts(T0);
    const der = cryptoSign('sha256', Buffer.from(`${hh}.${pp}`), { key: K.privateKey, dsaEncoding: 'der' });
    await expectReject(withSignature(T0, der), /signature/);
  });

  it('accepts the high-S twin (n - s) of a genuine signature: ECDSA and JWS allow it, KMS does not normalise S', async () => {
    const twin = withSignature(T0, Buffer.concat([be(r, 32), be(N - sv, 32)]));
    expect(twin).not.toBe(T0);
    expect((await verify(twin)).jti).toBe('jti-1');
  });
});

describe('F. RSA signature values', () => {
  const RT = validToken(R);
  const sig = Buffer.from(parts(RT)[2], 'base64url');
  const n = BigInt(`0x${Buffer.from(R.publicKey.export({ format: 'jwk' }).n ?? '', 'base64url').toString('hex')}`);
  const s = BigInt(`0x${sig.toString('hex')}`);

  it('rejects a 255-byte signature (leading zero dropped)', async () => {
    let token = RT;
    for (let i = 0; i < 2000; i++) {
      const candidate = validToken(R, { jti: `j${i}` });
      if (Buffer.from(parts(candidate)[2], 'base64url')[0] === 0) {
        token = candidate;
        break;
      }
    }
    const full = Buffer.from(parts(token)[2], 'base64url');
    expect(full[0]).toBe(0);
    await expectReject(withSignature(token, full.subarray(1)), /signature/);
  });
  it('rejects a 257-byte signature (00 prepended)', async () => await expectReject(withSignature(RT, Buffer.concat([Buffer.from([0]), sig])), /signature/));
  it('rejects a signature with zeros appended', async () => await expectReject(withSignature(RT, Buffer.concat([sig, Buffer.alloc(2)])), /signature/));
  it('rejects s + n (not reduced)', async () => {
    const big = s + n;
    await expectReject(withSignature(RT, be(big, big < 2n ** 2048n ? 256 : 257)), /signature/);
  });
  it('rejects s = n', async () => await expectReject(withSignature(RT, be(n, 256)), /signature/));
  for (const [name, value] of [['0', 0n], ['1', 1n], ['n-1', n - 1n]] as const) {
    it(`rejects s = ${name}`, async () => await expectReject(withSignature(RT, be(value, 256)), /signature/));
  }
  it('rejects a PKCS#1 v1.5 signature whose DigestInfo wrapper is missing (bare SHA-256 digest)', async () => {
    // Further DigestInfo malleations (BER lengths, missing NULL, wrong OID, trailing garbage) are
    // covered vector by vector by Wycheproof RSA in vectors.test.ts.
    const [hh, pp] = parts(RT);
    const digest = createHash('sha256').update(`${hh}.${pp}`).digest();
    const bare = privateEncrypt({ key: R.privateKey, padding: constants.RSA_PKCS1_PADDING }, digest);
    await expectReject(withSignature(RT, bare), /signature/);
  });
  it('refuses to load an RSA key under 2048 bits', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => verificationKeysFromJwks({ keys: [small.export({ format: 'jwk' })] })).toThrow(/2048/);
    expect(createPublicKey(small.export({ format: 'pem', type: 'spki' })).asymmetricKeyDetails?.modulusLength).toBe(1024);
  });
});

describe('G. claims', () => {
  it('rejects a tampered payload (sub admin) with the original signature', async () => {
    const [hh, , ss] = parts(T0);
    await expectReject(`${hh}.${b64(JSON.stringify(claims({ sub: 'admin' })))}.${ss}`, /signature/);
  });
  it('rejects a token without exp (RFC 9068 §2.2 REQUIRED)', async () => await expectReject(validToken(K, { exp: undefined }), /exp/));

  it('rejects exp = NOW - 1', async () => await expectReject(validToken(K, { exp: NOW - 1 }), /expired/));
  it('rejects exp = NOW - (leeway + 1)', async () => await expectReject(validToken(K, { exp: NOW - 61 }), /expired/));
  it('rejects exp = NOW ("now MUST be before exp", RFC 7519 §4.1.4)', async () => await expectReject(validToken(K, { exp: NOW }), /expired/));
  it('accepts exp = NOW + 1', async () => expect((await verify(validToken(K, { exp: NOW + 1 }))).exp).toBe(NOW + 1));

  it('rejects nbf beyond the leeway (NOW + leeway + 1)', async () => await expectReject(validToken(K, { nbf: NOW + 61 }), /not yet valid/));
  it('accepts nbf = NOW', async () => expect((await verify(validToken(K, { nbf: NOW }))).sub).toBe('u1'));
  it('accepts nbf within the leeway (issuer clock slightly ahead)', async () => expect((await verify(validToken(K, { nbf: NOW + 60 }))).sub).toBe('u1'));
  it('rejects iat beyond the leeway', async () => await expectReject(validToken(K, { iat: NOW + 61 }), /future/));
  it('rejects a token without iat (RFC 9068 §2.2 REQUIRED)', async () => await expectReject(validToken(K, { iat: undefined }), /iat/));

  for (const exp of ['9999999999', 1e308, -1, true, [NOW + 300], null, 2 ** 53 + 1]) {
    it(`rejects exp ${JSON.stringify(exp)} (NumericDate type confusion)`, async () => await expectReject(validToken(K, { exp }), /exp|expired/));
  }
  it('rejects nbf as a string', async () => await expectReject(validToken(K, { nbf: String(NOW) }), /nbf/));
  it('rejects iat as a string', async () => await expectReject(validToken(K, { iat: String(NOW) }), /iat/));

  it('rejects a wrong iss', async () => await expectReject(validToken(K, { iss: 'https://evil.example' }), /issuer/));
  it('rejects iss with a trailing slash', async () => await expectReject(validToken(K, { iss: `${ISS}/` }), /issuer/));
  it('rejects iss in another case', async () => await expectReject(validToken(K, { iss: ISS.toUpperCase() }), /issuer/));
  it('rejects a missing aud', async () => await expectReject(validToken(K, { aud: undefined }), /audience/));
  it('rejects aud ""', async () => await expectReject(validToken(K, { aud: '' }), /audience/));
  it('rejects aud [X] without ours', async () => await expectReject(validToken(K, { aud: ['x'] }), /audience/));
  it('accepts aud [X, AUD]', async () => expect((await verify(validToken(K, { aud: ['x', AUD] }))).aud).toBe(AUD));
  for (const name of ['sub', 'jti', 'client_id', 'sid']) {
    it(`rejects a token without ${name}`, async () => await expectReject(validToken(K, { [name]: undefined }), new RegExp(name)));
    it(`rejects a non-string ${name}`, async () => await expectReject(validToken(K, { [name]: 1 }), new RegExp(name)));
  }
  it('rejects a token without scope', async () => await expectReject(validToken(K, { scope: undefined }), /scope/));
  it('rejects auth_time after iat', async () => await expectReject(validToken(K, { auth_time: NOW + 1 }), /auth_time/));
});

describe('the header cache of a long-lived verifier', () => {
  it('still checks the signature and claims of every token sharing a cached header', async () => {
    const verifier = new AccessTokenVerifier(policy, keys);
    expect((await verifier.verify(T0, NOW)).sub).toBe('u1');
    const [hh, , ss] = parts(T0);
    await expect(verifier.verify(`${hh}.${b64(JSON.stringify(claims({ sub: 'admin' })))}.${ss}`, NOW)).rejects.toThrow(InvalidTokenError);
    await expect(verifier.verify(validToken(K, { exp: NOW - 1 }), NOW)).rejects.toThrow(/expired/);
  });
  it('forgets cached headers when the key set changes', async () => {
    const verifier = new AccessTokenVerifier(policy, keys);
    await verifier.verify(T0, NOW);
    verifier.setKeys(keyMap(R));
    await expect(verifier.verify(T0, NOW)).rejects.toThrow(UnknownKeyIdError);
  });
});
