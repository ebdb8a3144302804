/**
 * `npm run bench`: the authorizer against its baselines, measured side by side in one run.
 *  1. Warm verification CPU per request: ours (jose `jwtVerify` behind our policy: shape check,
 *     key resolver, claim rules) vs a raw `crypto.verify` of the same token (precomputed buffers:
 *     the floor), with aws-jwt-verify `verifySync` and bare jose `jwtVerify` alongside. Interleaved rounds in rotating order, CPU time from
 *     `process.cpuUsage`, median of rounds.
 *  2. Cold start: esbuild bundles (minified ESM for node24, as the stack builds them, see
 *     lib/bundling.ts) of our handler and of bench/reference-authorizer.ts (aws-jwt-verify +
 *     full @aws-sdk/client-dynamodb, an authorizer built the usual way); size, and import-to-first-decision in fresh `node` processes (median of runs), both
 *     answering a real-shaped HTTP API 2.0 event with a genuine token and one DynamoDB call
 *     to a local stub. A third bundle, bench/floor-authorizer.ts, does only what any authorizer
 *     must (built-ins, one key, one verify, the SigV4 HMACs, one round trip): the floor.
 *  3. DynamoDB and KMS calls per request on the warm path, counted by a local stub that plays
 *     both (keys from KMS GetPublicKey, not PUBLIC_JWKS, so a KMS call would show).
 *  4. `argon2` (login, not the authorizer): one Argon2id hash and one verification at the OWASP
 *     parameters, our node:crypto hasher against hash-wasm (the WebAssembly implementation it
 *     replaced), CPU time of the whole process (libuv's pool thread included: `process.cpuUsage`
 *     reads getrusage(RUSAGE_SELF)), which a shared machine disturbs far less than wall time,
 *     interleaved rounds in alternating order.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { constants, randomBytes, verify as cryptoVerify } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { JwtVerifier } from 'aws-jwt-verify';
import { importJWK, jwtVerify } from 'jose';
import { argon2id as wasmArgon2id, argon2Verify as wasmArgon2Verify } from 'hash-wasm';
import { Argon2idHasher, OWASP_ARGON2ID } from '../lambdas/core/passwords.ts';
import { AccessTokenVerifier } from '../lambdas/core/access-token-verifier.ts';
import { createVerificationKey } from '../lambdas/core/verification-key.ts';
import { generateTestKey, validToken, AUD, ISS } from '../test/unit/verifier/token-factory.ts';
import { startAwsStub } from './aws-stub.ts';
import { BUNDLE_TARGET, ESM_REQUIRE_SHIM } from '../lib/bundling.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(here, '.out');
mkdirSync(out, { recursive: true });

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
/**
 * The ratio of two interleaved series as the median of their per-pair ratios: a pair runs back
 * to back, so a slow spell of a shared machine scales both of its members and cancels out,
 * where a ratio of medians would keep it.
 */
const pairedRatio = (ours: readonly number[], base: readonly number[]): number =>
  median(ours.map((value, i) => value / (base[i] ?? Number.NaN)));
const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

const rows: [string, string, string, string][] = [];

// ---- 1. warm verification -------------------------------------------------------------------
async function warmVerification(alg: 'ES256' | 'RS256'): Promise<void> {
  const key = generateTestKey(alg);
  const now = Math.floor(Date.now() / 1000);
  const token = validToken(key, { exp: now + 3600, iat: now, nbf: now, auth_time: now - 10 });
  const [h, p, s] = token.split('.') as [string, string, string];
  const signingInput = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const vk = createVerificationKey(key.publicKey);
  const rawInput = alg === 'ES256' ? { key: key.publicKey, dsaEncoding: 'ieee-p1363' as const } : { key: key.publicKey, padding: constants.RSA_PKCS1_PADDING };
  const verifier = new AccessTokenVerifier(
    { algorithms: [alg], issuer: ISS, audience: AUD, typ: 'at+jwt', clockSkewSeconds: 60, expiryLeewaySeconds: 0, maxTokenLength: 4096 },
    new Map([[vk.kid, vk]]),
  );
  const joseKey = await importJWK(key.publicKey.export({ format: 'jwk' }), alg);
  const joseOptions = { issuer: ISS, audience: AUD, typ: 'at+jwt', algorithms: [alg] };
  const awsJwtVerify = JwtVerifier.create({
    issuer: ISS,
    audience: AUD,
    jwksUri: `${ISS}/.well-known/jwks.json`,
    customJwtCheck: ({ header }) => {
      if (header.typ !== 'at+jwt') throw new Error('wrong typ');
    },
  });
  awsJwtVerify.cacheJwks({ keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, alg, use: 'sig' }] } as Parameters<typeof awsJwtVerify.cacheJwks>[0]);
  const batch = alg === 'ES256' ? 400 : 1000;
  const rounds = 25;
  // Synchronous sides run in a plain loop (no await per call: that would add a microtask to
  // the baseline and flatter every ratio); ours and jose's jwtVerify are async and awaited.
  const sides: { name: string; run: () => unknown; async: boolean; times: number[] }[] = [
    { name: 'raw', run: () => { if (!cryptoVerify('sha256', signingInput, rawInput, signature)) throw new Error('raw verify failed'); }, async: false, times: [] },
    { name: 'ours', run: () => verifier.verify(token, now), async: true, times: [] },
    { name: 'aws-jwt-verify', run: () => awsJwtVerify.verifySync(token), async: false, times: [] },
    { name: 'jose', run: () => jwtVerify(token, joseKey, joseOptions), async: true, times: [] },
  ];
  const measure = async (side: (typeof sides)[number]): Promise<number> => {
    const t = cpuMicros();
    if (side.async) for (let i = 0; i < batch; i++) await side.run();
    else for (let i = 0; i < batch; i++) side.run();
    return (cpuMicros() - t) / batch;
  };
  for (const side of sides) await measure(side); // warm-up round, discarded
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so drift on a shared machine does not favour one side.
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(r + i) % sides.length] as (typeof sides)[number];
      side.times.push(await measure(side));
    }
  }
  const [raw, ours, ajv, jose] = sides as [(typeof sides)[number], (typeof sides)[number], (typeof sides)[number], (typeof sides)[number]];
  const base = median(raw.times).toFixed(1);
  rows.push([`${alg} warm verify, CPU µs/request`, `${median(ours.times).toFixed(1)} (ours)`, `${base} (raw crypto.verify)`, `${pairedRatio(ours.times, raw.times).toFixed(2)}× (goal ≤ 1.3×)`]);
  rows.push([`${alg} aws-jwt-verify verifySync, for reference`, `${median(ajv.times).toFixed(1)}`, base, `${pairedRatio(ajv.times, raw.times).toFixed(2)}×`]);
  rows.push([`${alg} jose jwtVerify, for reference`, `${median(jose.times).toFixed(1)}`, base, `${pairedRatio(jose.times, raw.times).toFixed(2)}×`]);
}

// ---- 2. cold start --------------------------------------------------------------------------
/**
 * Minified ESM for node24. Ours is bundled exactly as `AuthFunction` ships the authorizer (no
 * source map, no `require` shim); the reference the usual way, with esbuild's defaults plus the
 * shim it needs (the SDK bundles CommonJS that calls require()).
 */
async function bundle(entry: string, outfile: string, as: 'deployed' | 'usual'): Promise<number> {
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'esm',
    logLevel: 'error',
    ...(as === 'deployed' ? { mainFields: ['module', 'main'] } : { banner: { js: ESM_REQUIRE_SHIM } }),
  });
  return statSync(outfile).size;
}

async function coldStart(): Promise<void> {
  const key = generateTestKey('ES256');
  const now = Math.floor(Date.now() / 1000);
  const token = validToken(key, { exp: now + 3600, iat: now, nbf: now, auth_time: now - 10 });
  const jwks = JSON.stringify({ keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, use: 'sig', alg: 'ES256' }] });
  const stub = await startAwsStub(new Map(), 'auth');
  try {
    const oursFile = join(out, 'authorizer.mjs');
    const refFile = join(out, 'reference-authorizer.mjs');
    const probeFile = join(out, 'cold-start-probe.mjs');
    const oursSize = await bundle('lambdas/authorizer/handler.ts', oursFile, 'deployed');
    const refSize = await bundle('bench/reference-authorizer.ts', refFile, 'usual');
    const floorFile = join(out, 'floor-authorizer.mjs');
    await bundle('bench/floor-authorizer.ts', floorFile, 'deployed');
    await build({ entryPoints: [join(here, 'cold-start-probe.ts')], outfile: probeFile, bundle: true, platform: 'node', target: BUNDLE_TARGET, format: 'esm', logLevel: 'error' });
    rows.push(['bundle size, minified (KB)', `${(oursSize / 1024).toFixed(1)} (ours)`, `${(refSize / 1024).toFixed(1)} (aws-jwt-verify + @aws-sdk/client-dynamodb)`, `${(oursSize / refSize).toFixed(3)}× (goal ≤ 0.2×)`]);

    const event = JSON.parse(readFileSync(join(root, 'test/fixtures/events/http-v2-request-whoami.json'), 'utf8')) as { headers: Record<string, string>; identitySource: string[] };
    event.headers.authorization = `Bearer ${token}`;
    event.identitySource = [`Bearer ${token}`];
    const env = {
      PATH: process.env.PATH ?? '',
      TABLE_NAME: 'auth',
      ISSUER: ISS,
      AUDIENCE: AUD,
      SIGNING_ALG: 'ES256',
      PUBLIC_JWKS: jwks,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_ENDPOINT_URL_DYNAMODB: stub.endpoint,
      EVENT: JSON.stringify(event),
    };
    // Asynchronous on purpose: the DynamoDB stub answers from this process's event loop.
    const probe = async (bundleFile: string): Promise<{ ms: number; outcome: string }> => {
      const { stdout } = await promisify(execFile)(process.execPath, [probeFile, pathToFileURL(bundleFile).href], { env, encoding: 'utf8' });
      const last = stdout.trim().split('\n').pop() ?? '{}';
      return JSON.parse(last) as { ms: number; outcome: string };
    };
    const runs = 15;
    const oursMs: number[] = [];
    const refMs: number[] = [];
    const floorMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      // One pair per run, back to back, in alternating order.
      let a: { ms: number; outcome: string };
      let b: { ms: number; outcome: string };
      if (i % 2 === 0) {
        a = await probe(oursFile);
        b = await probe(refFile);
      } else {
        b = await probe(refFile);
        a = await probe(oursFile);
      }
      if (a.outcome !== 'allow' || b.outcome !== 'allow') throw new Error(`cold start probe did not allow: ours ${a.outcome}, reference ${b.outcome}`);
      oursMs.push(a.ms);
      refMs.push(b.ms);
      const floor = await probe(floorFile);
      if (floor.outcome !== 'allow') throw new Error(`floor probe did not allow: ${floor.outcome}`);
      floorMs.push(floor.ms);
    }
    rows.push([`import → first decision (ms, median of ${runs})`, `${median(oursMs).toFixed(1)} (ours)`, `${median(refMs).toFixed(1)} (reference)`, `${pairedRatio(oursMs, refMs).toFixed(3)}× (goal ≤ 0.2×)`]);
    rows.push(['  floor: built-ins, 1 key, 1 verify, SigV4 HMACs, 1 round trip', `${median(floorMs).toFixed(1)}`, `${median(refMs).toFixed(1)}`, `${pairedRatio(floorMs, refMs).toFixed(3)}× (bench/floor-authorizer.ts)`]);
  } finally {
    await stub.close();
  }
}

// ---- 3. calls per request -------------------------------------------------------------------
async function callsPerRequest(): Promise<void> {
  const key = generateTestKey('ES256');
  const stub = await startAwsStub(new Map([['alias/bench', key.publicKey]]), 'auth');
  try {
    // The authorizer built by its factory from plain settings: nothing here touches process.env.
    const settings = {
      TABLE_NAME: 'auth',
      ISSUER: ISS,
      AUDIENCE: AUD,
      SIGNING_ALG: 'ES256',
      VERIFY_KEY_IDS: 'alias/bench',
      ROUTE_SCOPES: '{"GET /admin":["admin"]}',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_ENDPOINT_URL_DYNAMODB: stub.endpoint,
      AWS_ENDPOINT_URL_KMS: stub.endpoint,
    };
    const { authorizerClientsFromEnv, createAuthorizerHandler } = await import('../lambdas/authorizer/authorizer-handler.ts');
    const { parseAuthorizerConfig } = await import('../lambdas/config/authorizer.ts');
    const handler = createAuthorizerHandler(parseAuthorizerConfig(settings), authorizerClientsFromEnv(settings));
    const now = Math.floor(Date.now() / 1000);
    const event = JSON.parse(readFileSync(join(root, 'test/fixtures/events/http-v2-request-whoami.json'), 'utf8')) as { headers: Record<string, string> };
    const ask = async (jti: string) => {
      event.headers.authorization = `Bearer ${validToken(key, { jti, exp: now + 3600, iat: now, nbf: now, auth_time: now - 10 })}`;
      const result = (await handler(event)) as { isAuthorized?: boolean };
      if (result.isAuthorized !== true) throw new Error('bench request was not allowed');
    };
    await ask('cold');
    const coldDdb = stub.calls.get('DynamoDB_20120810.BatchGetItem') ?? 0;
    const coldKms = stub.calls.get('TrentService.GetPublicKey') ?? 0;
    stub.calls.clear();
    const n = 200;
    for (let i = 0; i < n; i++) await ask(`warm-${i}`);
    const ddb = (stub.calls.get('DynamoDB_20120810.BatchGetItem') ?? 0) / n;
    const kms = (stub.calls.get('TrentService.GetPublicKey') ?? 0) / n;
    rows.push([`DynamoDB calls per request (warm, ${n} requests)`, `${ddb}`, `cold request: ${coldDdb}`, `goal ≤ 1`]);
    rows.push([`KMS calls per request (warm, ${n} requests)`, `${kms}`, `cold start: ${coldKms} (GetPublicKey, 1 key)`, `goal 0`]);
  } finally {
    await stub.close();
  }
}

// ---- 4. Argon2id ----------------------------------------------------------------------------
async function argon2Hashing(): Promise<void> {
  const params = OWASP_ARGON2ID;
  const ours = new Argon2idHasher(params, (n) => randomBytes(n));
  const password = 'correct horse battery staple';
  const wasmHash = (): Promise<string> =>
    wasmArgon2id({ password, salt: randomBytes(params.saltLength), parallelism: params.parallelism, iterations: params.iterations, memorySize: params.memoryKiB, hashLength: params.hashLength, outputType: 'encoded' });
  const stored = await wasmHash();
  const sides = {
    hash: { ours: () => ours.hash(password), wasm: wasmHash },
    verify: { ours: () => ours.verify(stored, password), wasm: () => wasmArgon2Verify({ password, hash: stored }) },
  };
  const cpuMs = async (run: () => Promise<unknown>): Promise<number> => {
    const t = cpuMicros();
    const result = await run();
    if (result === false) throw new Error('bench verification failed');
    return (cpuMicros() - t) / 1000;
  };
  const rounds = 31;
  for (const [what, side] of Object.entries(sides)) {
    await cpuMs(side.ours); // warm-up, discarded (hash-wasm compiles its WebAssembly on first use)
    await cpuMs(side.wasm);
    const oursMs: number[] = [];
    const wasmMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        oursMs.push(await cpuMs(side.ours));
        wasmMs.push(await cpuMs(side.wasm));
      } else {
        wasmMs.push(await cpuMs(side.wasm));
        oursMs.push(await cpuMs(side.ours));
      }
    }
    const ratio = median(oursMs) / median(wasmMs);
    rows.push([
      `argon2id ${what} m=${params.memoryKiB},t=${params.iterations},p=${params.parallelism}, CPU ms (median of ${rounds})`,
      `${median(oursMs).toFixed(1)} (node:crypto argon2)`,
      `${median(wasmMs).toFixed(1)} (hash-wasm)`,
      `${ratio.toFixed(2)}× of medians, ${pairedRatio(oursMs, wasmMs).toFixed(2)}× paired (goal ≤ 0.6×)`,
    ]);
  }
}

// `npm run bench -- cold` (or warm, calls, argon2) runs one section; no argument runs them all.
const sections = new Set(process.argv.slice(2));
const wanted = (name: string): boolean => sections.size === 0 || sections.has(name);
if (wanted('warm')) {
  await warmVerification('ES256');
  await warmVerification('RS256');
}
if (wanted('cold')) await coldStart();
if (wanted('calls')) await callsPerRequest();
if (wanted('argon2')) await argon2Hashing();

const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0), ['measure', 'ours', 'baseline', 'ratio'][i]?.length ?? 0));
const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(`\nkms-jwt-auth bench — node ${process.version} on ${process.platform}/${process.arch} (Lambda runs nodejs24.x)`);
console.log('Reference authorizer: aws-jwt-verify verifySync + full @aws-sdk/client-dynamodb BatchGetItemCommand.\n');
console.log(line(['measure', 'ours', 'baseline', 'ratio']));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
process.exit(0);
