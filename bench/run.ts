/**
 * `npm run bench`: the authorizer against a reference authorizer and a floor, measured side by
 * side in one run; every ratio is against a baseline measured in the same run.
 *
 * The three authorizers (docs/authorizer.md "Performance" has the method in full):
 *  - ours: lambdas/authorizer/handler.ts bundled exactly as the stack deploys it (`AuthFunction`
 *    with the authorizer's options: minified ESM for node24, module-first, no source map, no
 *    `require` shim);
 *  - reference: bench/reference-authorizer.ts, aws-jwt-verify + `@aws-sdk/client-dynamodb`,
 *    bundled with the same esbuild options (module-first ESM);
 *  - floor: bench/floor-authorizer.ts, a raw `crypto.verify` plus one raw SigV4-signed round trip.
 * All three send the same revocation read: the one ours sends, learnt from it through a recording
 * proxy (bench/read-shape.ts), so the bench follows whatever `handler` reads.
 *
 * Sections (`npm run bench -- warm|cold|calls|argon2`, none = all):
 *  warm   whole decisions (verify + revocation read + answer) against DynamoDB Local on loopback,
 *         RS256 and ES256, the three bundles loaded in this process; interleaved rounds in
 *         rotating order; per round: CPU per decision (`process.cpuUsage`), p50 and p99 latency
 *         (`process.hrtime`); medians and ranges over rounds, ratios = median of per-round ratios.
 *  cold   fresh `node` processes, import → first decision, and bundle sizes.
 *  calls  DynamoDB requests and read units per decision, ours with keys from KMS (the stand-in),
 *         so a KMS call on the warm path would show.
 *  argon2 Argon2id (login): node:crypto against hash-wasm, CPU per hash and per verification.
 *  parts  (only when named) the CPU of each stage of a warm decision alone, ours and the reference's.
 */
import { execFile } from 'node:child_process';
import { constants, createPublicKey, randomBytes, verify as cryptoVerify } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { BatchGetItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { JwtVerifier } from 'aws-jwt-verify';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { argon2id as wasmArgon2id, argon2Verify as wasmArgon2Verify } from 'hash-wasm';
import { Argon2idHasher, OWASP_ARGON2ID } from '../lambdas/core/passwords.ts';
import { AccessTokenVerifier } from '../lambdas/core/access-token-verifier.ts';
import { AwsJsonClient } from '../lambdas/adapters/aws/aws-json-client.ts';
import { withDeadline } from '../lambdas/adapters/aws/deadline.ts';
import { verificationKeyFromSpki } from '../lambdas/core/verification-key.ts';
import { DynamoDbSessionStore } from '../lambdas/adapters/dynamodb/session-store.ts';
import { startDynamoDbLocal } from '../local/dynamodb-local.ts';
import type { DynamoDbLocal } from '../local/dynamodb-local.ts';
import { startKmsStandin } from '../local/kms-standin/server.ts';
import { createServiceTable } from '../local/table.ts';
import { generateTestKey, validToken, AUD, ISS } from '../test/unit/verifier/token-factory.ts';
import type { TestKey } from '../test/unit/verifier/token-factory.ts';
import { AUTHORIZER_BUNDLE, BUNDLE_TARGET, bundleSettings } from '../lib/bundling.ts';
import { fillReadShape, learnReadShape, PROBE_CLAIMS } from './read-shape.ts';
import type { ReadShape } from './read-shape.ts';
import { startRecordingProxy } from './dynamodb-proxy.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(here, '.out');
mkdirSync(out, { recursive: true });
const TABLE = 'bench';
const REGION = 'eu-west-1';

// ---- statistics --------------------------------------------------------------------------------
const sorted = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);
const quantile = (values: readonly number[], q: number): number => {
  const s = sorted(values);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
};
const median = (values: readonly number[]): number => {
  const s = sorted(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
/** Per-pair ratios: a pair runs back to back, so a slow spell of a shared machine cancels out. */
const ratios = (ours: readonly number[], base: readonly number[]): number[] => ours.map((v, i) => v / (base[i] ?? Number.NaN));
const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
const fmt = (v: number, digits = 1): string => v.toFixed(digits);
const spread = (values: readonly number[], digits = 1): string => `${fmt(median(values), digits)} [${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}]`;

interface Row {
  measure: string;
  ours: string;
  reference: string;
  floor: string;
  ratio: string;
  target: string;
  verdict: string;
}
const rows: Row[] = [];
const verdict = (value: number, limit: number): string => (value <= limit ? 'met' : 'NOT MET');

// ---- bundles -----------------------------------------------------------------------------------
/**
 * The authorizer's bundle exactly as `AuthFunction` builds it (lib/bundling.ts, shared with the
 * stack): minified ESM for the runtime, module-first, everything bundled, no source map, no banner.
 */
const deployed = bundleSettings(AUTHORIZER_BUNDLE);
const DEPLOYED: BuildOptions = {
  bundle: true,
  platform: 'node',
  logLevel: 'error',
  target: deployed.target,
  format: deployed.format,
  mainFields: [...deployed.mainFields],
  minify: deployed.minify,
  sourcemap: deployed.sourcemap,
  ...(deployed.banner !== undefined ? { banner: { js: deployed.banner } } : {}),
};

async function bundle(entry: string, name: string, options: BuildOptions = DEPLOYED): Promise<{ file: string; bytes: number }> {
  const file = join(out, name);
  await build({ ...options, entryPoints: [join(root, entry)], outfile: file });
  return { file, bytes: statSync(file).size };
}
let bundles: Promise<{ ours: { file: string; bytes: number }; reference: { file: string; bytes: number }; floor: { file: string; bytes: number } }> | undefined;
const allBundles = () =>
  (bundles ??= (async () => ({
    ours: await bundle('lambdas/authorizer/handler.ts', 'authorizer.mjs'),
    reference: await bundle('bench/reference-authorizer.ts', 'reference-authorizer.mjs'),
    floor: await bundle('bench/floor-authorizer.ts', 'floor-authorizer.mjs'),
  }))());

type Handler = (event: unknown) => Promise<unknown>;
/** A fresh module instance of a bundle (the query string makes a new module record). */
async function load(file: string, instance: string): Promise<Handler> {
  const mod = (await import(`${pathToFileURL(file).href}?${instance}`)) as { handler: Handler };
  return mod.handler;
}
const allowed = (result: unknown): boolean => (result as { isAuthorized?: unknown }).isAuthorized === true;
async function decides(handler: Handler, event: unknown): Promise<'allow' | 'deny'> {
  try {
    return allowed(await handler(event)) ? 'allow' : 'deny';
  } catch (error) {
    if ((error as Error).message === 'Unauthorized') return 'deny';
    throw error;
  }
}

// ---- environment -------------------------------------------------------------------------------
const fixture = readFileSync(join(root, 'test/fixtures/events/http-v2-request-whoami.json'), 'utf8');
function eventFor(token: string): unknown {
  const event = JSON.parse(fixture) as { headers: Record<string, string>; identitySource: string[] };
  event.headers.authorization = `Bearer ${token}`;
  event.identitySource = [`Bearer ${token}`];
  return event;
}
const jwksOf = (key: TestKey): string => JSON.stringify({ keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' }] });
const credentials = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' };
const baseEnv = {
  TABLE_NAME: TABLE,
  ISSUER: ISS,
  AUDIENCE: AUD,
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
};
function setEnv(env: Record<string, string>): void {
  for (const name of ['PUBLIC_JWKS', 'VERIFY_KEY_IDS', 'ROUTE_SCOPES', 'AWS_ENDPOINT_URL_KMS', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[name];
  Object.assign(process.env, baseEnv, env);
}

let ddbLocal: DynamoDbLocal | undefined;
let shape: ReadShape | undefined;
const USERS = 64;
const now = Math.floor(Date.now() / 1000);
const claimsOf = (i: number) => ({ sub: `user-${i}`, sid: `sid-${i}`, jti: `jti-${i}`, exp: now + 3600, iat: now, nbf: now, auth_time: now - 10 });
const REVOKED = { sub: 'user-revoked', sid: 'sid-revoked', jti: 'jti-revoked', exp: now + 3600, iat: now, nbf: now, auth_time: now - 10 };

/**
 * DynamoDB Local with the service table; the users' revocation state written by the production
 * store (`revokeAllFamilies`, logout everywhere): every other user logged out everywhere ten
 * minutes before their current token's `auth_time` (so the read finds an entry, and the token
 * stands), and one user logged out after it (that token must be denied by every side).
 */
async function dynamodb(): Promise<DynamoDbLocal> {
  if (ddbLocal !== undefined) return ddbLocal;
  ddbLocal = await startDynamoDbLocal();
  const client = new DynamoDBClient({ endpoint: ddbLocal.endpoint, region: REGION, credentials });
  await createServiceTable(client, TABLE);
  const store = new DynamoDbSessionStore(client, TABLE);
  const logout = (sub: string, at: number) =>
    store.revokeAllFamilies(sub, { reason: 'logout_all', nowMs: at * 1000, nowSeconds: at, denyUntil: now + 3600, userDenyUntil: now + 86_400 });
  for (let i = 0; i < USERS; i += 2) await logout(`user-${i}`, now - 600);
  await logout(REVOKED.sub, now);
  client.destroy();
  return ddbLocal;
}

/** What ours sends for one decision, learnt through the recording proxy. */
async function readShape(): Promise<ReadShape> {
  if (shape !== undefined) return shape;
  const ddb = await dynamodb();
  const { ours } = await allBundles();
  const proxy = await startRecordingProxy(ddb.endpoint);
  try {
    const key = generateTestKey('RS256');
    setEnv({ SIGNING_ALG: 'RS256', PUBLIC_JWKS: jwksOf(key), AWS_ENDPOINT_URL_DYNAMODB: proxy.url });
    const handler = await load(ours.file, 'probe');
    await decides(handler, eventFor(validToken(key, { ...claimsOf(0), ...PROBE_CLAIMS })));
    const sent = [...proxy.lastBody.entries()];
    if (sent.length !== 1 || [...proxy.requests.values()].some((n) => n !== 1)) throw new Error(`ours made ${JSON.stringify([...proxy.requests])} for one decision; the bench expects one read`);
    const [target, body] = sent[0] as [string, string];
    shape = learnReadShape(target, body);
    return shape;
  } finally {
    await proxy.close();
  }
}

// ---- 1. warm ---------------------------------------------------------------------------------------
async function warm(alg: 'RS256' | 'ES256'): Promise<void> {
  const ddb = await dynamodb();
  const read = await readShape();
  const b = await allBundles();
  const key = generateTestKey(alg);
  setEnv({ SIGNING_ALG: alg, PUBLIC_JWKS: jwksOf(key), AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint, REFERENCE_READ: JSON.stringify(read) });
  const sides = [
    { name: 'ours', handler: await load(b.ours.file, `warm-${alg}`), cpu: [] as number[], p50: [] as number[], p99: [] as number[] },
    { name: 'reference', handler: await load(b.reference.file, `warm-${alg}`), cpu: [] as number[], p50: [] as number[], p99: [] as number[] },
    { name: 'floor', handler: await load(b.floor.file, `warm-${alg}`), cpu: [] as number[], p50: [] as number[], p99: [] as number[] },
  ];
  const events = Array.from({ length: USERS }, (_, i) => eventFor(validToken(key, claimsOf(i))));
  const revoked = eventFor(validToken(key, REVOKED));
  // Same decisions, or the comparison means nothing: every good token allowed, the revoked one denied.
  for (const side of sides) {
    for (const event of events.slice(0, 4)) if ((await decides(side.handler, event)) !== 'allow') throw new Error(`${side.name} ${alg}: a good token was denied`);
    if (side.name !== 'floor' && (await decides(side.handler, revoked)) !== 'deny') throw new Error(`${side.name} ${alg}: a revoked token was allowed`);
  }
  const batch = 150;
  const rounds = 21;
  let next = 0;
  const measure = async (side: (typeof sides)[number], keep: boolean): Promise<void> => {
    const latencies: number[] = [];
    const cpu0 = cpuMicros();
    for (let i = 0; i < batch; i++) {
      const t0 = process.hrtime.bigint();
      const result = await side.handler(events[next++ % USERS]);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (!allowed(result)) throw new Error(`${side.name}: denied a good token`);
    }
    const cpu = (cpuMicros() - cpu0) / batch;
    if (!keep) return;
    side.cpu.push(cpu);
    side.p50.push(quantile(latencies, 0.5));
    side.p99.push(quantile(latencies, 0.99));
  };
  for (const side of sides) await measure(side, false); // warm-up, discarded
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < sides.length; i++) await measure(sides[(r + i) % sides.length] as (typeof sides)[number], true);
  }
  const [ours, ref, floor] = sides as [(typeof sides)[number], (typeof sides)[number], (typeof sides)[number]];
  const cpuRatio = ratios(ours.cpu, ref.cpu);
  const p50Ratio = ratios(ours.p50, ref.p50);
  const p99Ratio = ratios(ours.p99, ref.p99);
  const label = `${alg} warm decision (${rounds} rounds × ${batch}), `;
  rows.push({ measure: `${label}CPU µs/decision`, ours: spread(ours.cpu), reference: spread(ref.cpu), floor: spread(floor.cpu), ratio: spread(cpuRatio, 2), target: '≤ 0.6×', verdict: verdict(median(cpuRatio), 0.6) });
  rows.push({ measure: `${label}p50 latency µs`, ours: spread(ours.p50, 0), reference: spread(ref.p50, 0), floor: spread(floor.p50, 0), ratio: spread(p50Ratio, 2), target: '≤ 0.75×', verdict: verdict(median(p50Ratio), 0.75) });
  rows.push({ measure: `${label}p99 latency µs`, ours: spread(ours.p99, 0), reference: spread(ref.p99, 0), floor: spread(floor.p99, 0), ratio: spread(p99Ratio, 2), target: '(none)', verdict: '' });
}

// ---- 2. cold -----------------------------------------------------------------------------------------
async function cold(): Promise<void> {
  const ddb = await dynamodb();
  const read = await readShape();
  const b = await allBundles();
  const cjsReference = await bundle('bench/reference-authorizer.ts', 'reference-authorizer-cjs-first.mjs', (({ mainFields: _moduleFirst, ...usual }) => usual)(DEPLOYED));
  const probeFile = join(out, 'cold-start-probe.mjs');
  await build({ entryPoints: [join(here, 'cold-start-probe.ts')], outfile: probeFile, bundle: true, platform: 'node', target: BUNDLE_TARGET, format: 'esm', logLevel: 'error' });
  const kb = (bytes: number) => `${fmt(bytes / 1024)} KB`;
  rows.push({
    measure: 'bundle size, minified',
    ours: kb(b.ours.bytes),
    reference: kb(b.reference.bytes),
    floor: kb(b.floor.bytes),
    ratio: `${(b.ours.bytes / b.reference.bytes).toFixed(3)}`,
    target: '(none)',
    verdict: '',
  });
  rows.push({ measure: "  reference bundled CommonJS-first (esbuild's default main fields)", ours: '', reference: kb(cjsReference.bytes), floor: '', ratio: `${(b.ours.bytes / cjsReference.bytes).toFixed(3)}`, target: '(none)', verdict: '' });
  const key = generateTestKey('RS256');
  const env = {
    PATH: process.env.PATH ?? '',
    ...baseEnv,
    SIGNING_ALG: 'RS256',
    PUBLIC_JWKS: jwksOf(key),
    AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
    REFERENCE_READ: JSON.stringify(read),
    EVENT: JSON.stringify(eventFor(validToken(key, claimsOf(0)))),
  };
  const probe = async (file: string): Promise<number> => {
    const { stdout } = await promisify(execFile)(process.execPath, [probeFile, pathToFileURL(file).href], { env, encoding: 'utf8' });
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { ms: number; outcome: string };
    if (result.outcome !== 'allow') throw new Error(`cold start probe of ${file}: ${result.outcome}`);
    return result.ms;
  };
  const runs = 21;
  const ms = { ours: [] as number[], reference: [] as number[], floor: [] as number[] };
  const order = ['ours', 'reference', 'floor'] as const;
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < order.length; j++) {
      const side = order[(i + j) % order.length] as (typeof order)[number];
      ms[side].push(await probe(b[side].file));
    }
  }
  const r = ratios(ms.ours, ms.reference);
  rows.push({ measure: `import → first decision, ms (${runs} fresh processes each)`, ours: spread(ms.ours), reference: spread(ms.reference), floor: spread(ms.floor), ratio: spread(r, 2), target: '≤ 0.4×', verdict: verdict(median(r), 0.4) });
}

// ---- 3. calls ----------------------------------------------------------------------------------------
async function calls(): Promise<void> {
  const ddb = await dynamodb();
  const read = await readShape();
  const b = await allBundles();
  const kmsLocal = await startKmsStandin({ region: REGION });
  const proxy = await startRecordingProxy(ddb.endpoint);
  try {
    const { keyId } = await kmsLocal.createKey('RSA_2048', 'alias/bench');
    const kms = new KMSClient({ endpoint: kmsLocal.endpoint, region: REGION, credentials });
    const spki = (await kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey;
    if (spki === undefined) throw new Error('no public key');
    const vk = verificationKeyFromSpki(spki);
    const mint = async (claims: Record<string, unknown>): Promise<string> => {
      const b64 = (v: string | Uint8Array) => Buffer.from(v).toString('base64url');
      const input = `${b64(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: vk.kid }))}.${b64(JSON.stringify({ iss: ISS, aud: AUD, client_id: 'bench', scope: 'openid', ...claims }))}`;
      const signed = await kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from(input), MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }));
      if (signed.Signature === undefined) throw new Error('no signature');
      return `${input}.${b64(signed.Signature)}`;
    };
    const n = 100;
    const events = await Promise.all(Array.from({ length: n }, (_, i) => mint(claimsOf(i % USERS)).then(eventFor)));
    // Ours as deployed: keys from KMS (VERIFY_KEY_IDS). The reference cannot read KMS: same key as a JWKS.
    setEnv({ SIGNING_ALG: 'RS256', VERIFY_KEY_IDS: 'alias/bench', AWS_ENDPOINT_URL_KMS: kmsLocal.endpoint, AWS_ENDPOINT_URL_DYNAMODB: proxy.url, ROUTE_SCOPES: '{"GET /admin":["admin"]}' });
    const ours = await load(b.ours.file, 'calls');
    kmsLocal.resetCalls();
    if ((await decides(ours, events[0])) !== 'allow') throw new Error('ours denied a KMS-signed token');
    const coldKms = Object.values(kmsLocal.calls()).reduce((s, v) => s + v, 0);
    const count = async (handler: Handler) => {
      proxy.reset();
      kmsLocal.resetCalls();
      for (const event of events) if ((await decides(handler, event)) !== 'allow') throw new Error('a good token was denied');
      const requests = [...proxy.requests.values()].reduce((s, v) => s + v, 0);
      const kmsCalls = Object.values(kmsLocal.calls()).reduce((s, v) => s + v, 0);
      return { requests: requests / n, units: proxy.readUnits / n, ruleUnits: proxy.ruleUnits / n, unreported: proxy.unreported, ops: [...proxy.requests.keys()].join(', '), kms: kmsCalls / n };
    };
    const o = await count(ours);
    setEnv({ SIGNING_ALG: 'RS256', PUBLIC_JWKS: JSON.stringify({ keys: [{ ...createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }), kid: vk.kid, alg: 'RS256', use: 'sig' }] }), AWS_ENDPOINT_URL_DYNAMODB: proxy.url, REFERENCE_READ: JSON.stringify(read) });
    const r = await count(await load(b.reference.file, 'calls'));
    if (o.unreported > 0 || r.unreported > 0) throw new Error('DynamoDB Local did not report ConsumedCapacity');
    rows.push({ measure: `DynamoDB requests per decision (${n} warm decisions)`, ours: `${o.requests} (${o.ops})`, reference: `${r.requests} (${r.ops})`, floor: '', ratio: '', target: '1', verdict: verdict(o.requests, 1) });
    rows.push({ measure: "read units per decision (AWS's rule: every key read, present or not)", ours: `${o.ruleUnits}`, reference: `${r.ruleUnits}`, floor: '', ratio: '', target: '1', verdict: verdict(o.ruleUnits, 1) });
    rows.push({ measure: '  as DynamoDB Local reports them (ConsumedCapacity)', ours: `${o.units}`, reference: `${r.units}`, floor: '', ratio: '', target: '(not billing)', verdict: '' });
    rows.push({ measure: 'KMS calls per decision, warm', ours: `${o.kms} (cold start: ${coldKms})`, reference: '', floor: '', ratio: '', target: '0', verdict: verdict(o.kms, 0) });
  } finally {
    await proxy.close();
    await kmsLocal.close();
  }
}

// ---- 5. parts (opt-in: `npm run bench -- parts`) ----------------------------------------------------
/**
 * Where a warm decision's CPU goes: each stage alone, RS256, from the sources (not the bundles),
 * in interleaved rounds like the warm section. The reads go to DynamoDB Local with the learnt read.
 */
async function parts(): Promise<void> {
  const ddb = await dynamodb();
  const read = await readShape();
  const key = generateTestKey('RS256');
  const token = validToken(key, claimsOf(1));
  const [h, p, sig] = token.split('.') as [string, string, string];
  const signingInput = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(sig, 'base64url');
  const verifier = new AccessTokenVerifier(
    { algorithms: ['RS256'], issuer: ISS, audience: AUD, typ: 'at+jwt', clockSkewSeconds: 60, expiryLeewaySeconds: 0, maxTokenLength: 4096 },
    new Map([[key.verificationKey.kid, key.verificationKey]]),
  );
  const ajv = JwtVerifier.create({ issuer: ISS, audience: AUD, jwksUri: `${ISS}/.well-known/jwks.json` });
  ajv.cacheJwks(JSON.parse(jwksOf(key)) as Parameters<typeof ajv.cacheJwks>[0]);
  const ours = new AwsJsonClient({ service: 'dynamodb', region: REGION, endpoint: new URL(ddb.endpoint), credentials: { ...credentials, sessionToken: undefined } });
  const sdk = new DynamoDBClient({ endpoint: ddb.endpoint, region: REGION, credentials });
  const request = fillReadShape(read.template, claimsOf(1));
  const body = JSON.stringify(request);
  const target = `DynamoDB_20120810.${read.operation}`;
  if (read.operation !== 'BatchGetItem' && read.operation !== 'GetItem') throw new Error(`parts: no SDK command wired for ${read.operation}`);
  const sdkSend = read.operation === 'BatchGetItem' ? () => sdk.send(new BatchGetItemCommand(request as never)) : () => sdk.send(new GetItemCommand(request as never));
  const stages: { name: string; run: () => unknown; times: number[] }[] = [
    { name: 'crypto.verify (RS256, raw buffers)', run: () => cryptoVerify('sha256', signingInput, { key: key.publicKey, padding: constants.RSA_PKCS1_PADDING }, signature), times: [] },
    { name: 'ours: AccessTokenVerifier.verify (jose jwtVerify under our policy)', run: () => verifier.verify(token, now), times: [] },
    { name: 'reference: aws-jwt-verify verifySync', run: () => ajv.verifySync(token), times: [] },
    { name: 'ours: SigV4 signature of the read', run: () => ours.sign(target, body), times: [] },
    { name: 'ours: the read (SigV4 + node:http keep-alive + JSON)', run: () => withDeadline(1500, (deadline) => ours.call(target, request, deadline)), times: [] },
    { name: 'reference: the read (SDK DynamoDBClient.send)', run: sdkSend, times: [] },
  ];
  const batch = 150;
  const rounds = 11;
  const measure = async (stage: (typeof stages)[number]): Promise<number> => {
    const t = cpuMicros();
    for (let i = 0; i < batch; i++) await stage.run();
    return (cpuMicros() - t) / batch;
  };
  for (const stage of stages) await measure(stage);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < stages.length; i++) {
    const stage = stages[(r + i) % stages.length] as (typeof stages)[number];
    stage.times.push(await measure(stage));
  }
  for (const stage of stages) rows.push({ measure: `part: ${stage.name}, CPU µs (awaited)`, ours: spread(stage.times), reference: '', floor: '', ratio: '', target: '', verdict: '' });
  sdk.destroy();
}

// ---- 4. Argon2id ---------------------------------------------------------------------------------
async function argon2(): Promise<void> {
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
  // CPU of the whole process (libuv's pool thread included: getrusage(RUSAGE_SELF)).
  const cpuMs = async (run: () => Promise<unknown>): Promise<number> => {
    const t = cpuMicros();
    if ((await run()) === false) throw new Error('bench verification failed');
    return (cpuMicros() - t) / 1000;
  };
  const rounds = 21;
  for (const [what, side] of Object.entries(sides)) {
    await cpuMs(side.ours); // warm-up (hash-wasm compiles its WebAssembly on first use)
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
    const r = ratios(oursMs, wasmMs);
    rows.push({
      measure: `argon2id ${what} m=${params.memoryKiB},t=${params.iterations},p=${params.parallelism}, CPU ms (${rounds} rounds)`,
      ours: spread(oursMs),
      reference: `${spread(wasmMs)} (hash-wasm)`,
      floor: '',
      ratio: spread(r, 2),
      target: '≤ 0.6×',
      verdict: verdict(median(r), 0.6),
    });
  }
}

/**
 * Our authorizer writes one metrics line (CloudWatch EMF) to stdout per decision, as it does in
 * Lambda. Those lines still cost their write here, but go to /dev/null instead of burying the
 * report: the same `write(2)` of the same bytes, to a file that discards them.
 */
const devNull = openSync('/dev/null', 'w');
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
  if (typeof chunk === 'string' && chunk.startsWith('{"_aws":')) {
    writeSync(devNull, chunk);
    return true;
  }
  return (writeStdout as (chunk: string | Uint8Array, ...args: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

const sections = new Set(process.argv.slice(2));
const wanted = (name: string): boolean => sections.size === 0 || sections.has(name);
const load0 = loadavg();
try {
  // Argon2 first: it measures the whole process's CPU (libuv's pool thread included), so it must
  // run before the warm section leaves keep-alive sockets, in-process bundles and a large heap to
  // collect; run after them, its verify row once read 60 ms where alone it reads 17.
  if (wanted('argon2')) await argon2();
  if (wanted('warm')) {
    await warm('RS256');
    await warm('ES256');
  }
  if (wanted('cold')) await cold();
  if (wanted('calls')) await calls();
  if (sections.has('parts')) await parts();
} finally {
  await ddbLocal?.stop();
}
const load1 = loadavg();

const header: Row = { measure: 'measure', ours: 'ours', reference: 'reference', floor: 'floor', ratio: 'ours/reference', target: 'target', verdict: 'verdict' };
const keys = Object.keys(header) as (keyof Row)[];
const widths = keys.map((k) => Math.max(...[header, ...rows].map((r) => r[k].length)));
const line = (r: Row) => `| ${keys.map((k, i) => r[k].padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(`\nkms-jwt-auth bench — node ${process.version} on ${process.platform}/${process.arch}, ${cpus().length} cores; load average ${load0.map((v) => v.toFixed(2)).join(' ')} at start, ${load1.map((v) => v.toFixed(2)).join(' ')} at end`);
console.log('ours: the authorizer bundled as deployed; reference: aws-jwt-verify + @aws-sdk/client-dynamodb, same esbuild options; floor: crypto.verify + one raw SigV4 round trip.');
if (shape !== undefined) console.log(`revocation read (ours, learnt; the reference and the floor send the same): ${shape.operation}`);
console.log('Cells: median [min–max] over rounds; ratios are medians of per-round ratios.\n');
console.log(line(header));
console.log(line(Object.fromEntries(keys.map((k, i) => [k, '-'.repeat(widths[i] ?? 0)])) as unknown as Row));
for (const row of rows) console.log(line(row));
process.exit(0);
