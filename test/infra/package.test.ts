/**
 * The package as a team installs it: `npm pack` (which runs `npm run build`), then a fresh CDK app
 * in a temporary folder outside the repository installs the tarball, with aws-cdk-lib, constructs
 * and cdk-nag beside it as the team's own packages (this repository's copies, linked in: they are
 * peers, so the consumer installs them, and linking keeps the test offline and fast). The app
 * (test/fixtures/package-consumer/app.mjs, plain JavaScript) creates the auth stack, attaches a
 * REST API and an HTTP API in another stack and an API in another account by ARN, and synthesizes
 * with cdk-nag as validation plugins; a TypeScript file type-checks against the shipped
 * declarations alone.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { FUNCTION_NAMES } from '../../lib/function-access.ts';
import { KmsJwtAuth } from '../../lib/kms-jwt-auth.ts';
import { isObject, offlineEnv } from './support.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/package-consumer/', import.meta.url));
const PEERS = ['aws-cdk-lib', 'constructs', 'cdk-nag'] as const;
/** Build (esbuild for five functions, tsc for declarations), install, synth, type-check. */
const TIMEOUT_MS = 90_000;

interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly string[];
}

const scratch = mkdtempSync(join(tmpdir(), 'kms-jwt-auth-package-'));
const consumer = join(scratch, 'consumer');
const installed = join(consumer, 'node_modules', 'kms-jwt-auth');
const outdir = join(scratch, 'cdk.out');
let packed: PackResult;
let report: { findings: unknown[]; clientExports: string[]; createAuthClient: string };
let typecheck: { code: number; output: string };
const timings: Record<string, number> = {};

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function parsePack(stdout: string): PackResult {
  const parsed: unknown = JSON.parse(stdout);
  const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (!isObject(first)) throw new Error(`npm pack --json printed no result: ${stdout.slice(0, 200)}`);
  const { filename, size, unpackedSize, files } = first;
  if (typeof filename !== 'string' || typeof size !== 'number' || typeof unpackedSize !== 'number' || !Array.isArray(files)) {
    throw new Error('npm pack --json result lacks filename, size or files');
  }
  return { filename, size, unpackedSize, files: files.map((f) => (isObject(f) && typeof f.path === 'string' ? f.path : '?')) };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

function templateOf(stack: string, dir = outdir): Resources {
  const template: unknown = JSON.parse(readFileSync(join(dir, `${stack}.template.json`), 'utf8'));
  if (!isObject(template) || !isObject(template.Resources)) throw new Error(`${stack}: no Resources`);
  return template.Resources as Resources;
}

/** SHA-256 of each function's deployed `index.mjs`, by logical id, found through the asset manifest. */
function deployedBundles(stack: string, dir: string): Record<string, string> {
  // The manifest maps each function's S3 key (`<hash>.zip`) to the folder the CLI zips.
  const manifest: unknown = JSON.parse(readFileSync(join(dir, `${stack}.assets.json`), 'utf8'));
  const assets = isObject(manifest) && isObject(manifest.files) ? manifest.files : {};
  const bundles: Record<string, string> = {};
  for (const [logicalId, fn] of Object.entries(templateOf(stack, dir))) {
    if (fn.Type !== 'AWS::Lambda::Function') continue;
    const code = fn.Properties?.['Code'];
    const key = isObject(code) ? code['S3Key'] : undefined;
    const asset = typeof key === 'string' ? assets[key.replace(/\.zip$/, '')] : undefined;
    const path = isObject(asset) && isObject(asset.source) ? asset.source.path : undefined;
    if (typeof path !== 'string') throw new Error(`${logicalId}: code ${JSON.stringify(code)} has no asset folder`);
    bundles[logicalId] = sha256(join(dir, path, 'index.mjs'));
  }
  return bundles;
}


beforeAll(async () => {
  let started = Date.now();
  const env = offlineEnv(scratch);
  const pack = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: ROOT, env, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
  packed = parsePack(pack.stdout.slice(pack.stdout.indexOf('[')));
  timings['packMs'] = Date.now() - started;

  // A fresh app: its own package.json, nothing of this repository's build tooling on its PATH.
  started = Date.now();
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'team-app', private: true, type: 'module', dependencies: { 'kms-jwt-auth': `file:${join(scratch, packed.filename)}` } }),
  );
  // --legacy-peer-deps: npm would otherwise fetch the peers; they are linked in below instead.
  await run('npm', ['install', '--offline', '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], {
    cwd: consumer,
    env,
    timeout: TIMEOUT_MS,
  });
  for (const peer of PEERS) symlinkSync(join(ROOT, 'node_modules', peer), join(consumer, 'node_modules', peer), 'dir');
  for (const file of readdirSync(FIXTURE)) copyFileSync(join(FIXTURE, file), join(consumer, file));
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'], types: [],
        strict: true, exactOptionalPropertyTypes: true, skipLibCheck: true, noEmit: true,
      },
      files: ['consumer.ts'],
    }),
  );
  timings['installMs'] = Date.now() - started;

  started = Date.now();
  const consumerEnv = { ...env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
  const reportPath = join(scratch, 'report.json');
  const synth = run(process.execPath, ['app.mjs', outdir, reportPath], { cwd: consumer, env: consumerEnv, timeout: TIMEOUT_MS }).then(() => {
    timings['synthMs'] = Date.now() - started;
  });
  const tsc = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: consumer, env: consumerEnv, timeout: TIMEOUT_MS }).then(
    (r) => ({ code: 0, output: r.stdout }),
    (error: unknown) => ({ code: 1, output: isObject(error) && typeof error.stdout === 'string' ? error.stdout : String(error) }),
  );
  const settled = await Promise.allSettled([synth, tsc]);
  await synth;
  typecheck = await tsc;
  void settled;
  report = JSON.parse(readFileSync(reportPath, 'utf8')) as typeof report;
  console.log(`package test: tarball ${packed.filename} ${packed.size} bytes (${packed.unpackedSize} unpacked, ${packed.files.length} files); ${JSON.stringify(timings)}`);
}, 3 * TIMEOUT_MS);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the compiled library, the client, their declarations and one prebuilt bundle per function, and no TypeScript source', () => {
    const files = new Set(packed.files);
    for (const path of ['dist/lib/index.js', 'dist/types/lib/index.d.ts', 'dist/client/index.js', 'dist/types/client/index.d.ts', 'package.json']) {
      expect(files.has(path), path).toBe(true);
    }
    for (const name of FUNCTION_NAMES) expect(files.has(`dist/lambdas/${name}/index.mjs`), name).toBe(true);
    expect(packed.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(packed.files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'SECURITY.md'].includes(f))).toEqual([]);
  });

  it('declares no runtime dependencies: aws-cdk-lib and constructs are peers, the bundles carry the rest', () => {
    const manifest: unknown = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    if (!isObject(manifest)) throw new Error('package.json is not an object');
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(isObject(manifest.peerDependencies) ? manifest.peerDependencies : {}).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  });

  it('has declarations that import only each other, the peers and Node built-ins, so they resolve in any CDK app', () => {
    const imports = packed.files
      .filter((f) => f.endsWith('.d.ts'))
      .flatMap((f) => [...readFileSync(join(installed, f), 'utf8').matchAll(/^(?:import|export)\b[^;]*? from '([^']+)'/gm)].map((m) => m[1] ?? ''));
    expect(imports).toContain('aws-cdk-lib');
    const foreign = imports.filter((spec) => !spec.startsWith('.') && !/^(aws-cdk-lib(\/.*)?|constructs|node:.*)$/.test(spec));
    expect(foreign).toEqual([]);
  });
});

describe('a fresh CDK app that installs it', () => {
  it('synthesizes the auth stack, a REST and an HTTP API in another stack, and an API in another account, with no unacknowledged cdk-nag finding', () => {
    expect(report.findings).toEqual([]);
    const apis = Object.values(templateOf('Apis'));
    expect(apis.filter((r) => r.Type === 'AWS::ApiGateway::Authorizer').map((r) => r.Properties?.['Type'])).toEqual(['TOKEN']);
    expect(apis.filter((r) => r.Type === 'AWS::ApiGatewayV2::Authorizer').map((r) => r.Properties?.['AuthorizerType'])).toEqual(['REQUEST']);
    const remote = Object.values(templateOf('Remote'));
    const remoteAuthorizer = remote.find((r) => r.Type === 'AWS::ApiGatewayV2::Authorizer');
    expect(JSON.stringify(remoteAuthorizer?.Properties?.['AuthorizerUri'])).toContain('arn:aws:lambda:eu-west-1:111111111111:function:Auth-AuthorizerFunction');
    // Another account's function: its owner grants the invoke permission, this stack cannot.
    expect(remote.filter((r) => r.Type === 'AWS::Lambda::Permission')).toEqual([]);
  });

  it('installs the operator CLI as `kms-jwt-auth-admin`, which runs with the AWS SDK it carries and nothing else installed', async () => {
    const bin = join(consumer, 'node_modules', '.bin', 'kms-jwt-auth-admin');
    const consumerEnv = { ...offlineEnv(scratch), PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
    const help = await run(bin, ['help'], { cwd: consumer, env: consumerEnv, timeout: 20_000 });
    expect(help.stdout).toMatch(/^Usage: kms-jwt-auth-admin \[--local \| --table NAME\] <command>/);
    expect(help.stdout).toContain('create-user <username>');
    // A real command reaches for DynamoDB through the bundled SDK: with nothing listening there it
    // fails as the service's own 503 would, which shows the SDK loaded and ran.
    const unreachable = await run(bin, ['--table', 'auth-table', 'list-users'], {
      cwd: consumer,
      env: { ...consumerEnv, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' },
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: unknown) => ({ code: isObject(error) && typeof error.code === 'number' ? error.code : -1, stderr: isObject(error) && typeof error.stderr === 'string' ? error.stderr : '' }),
    );
    expect(unreachable).toEqual({ code: 1, stderr: expect.stringContaining('temporarily unavailable (DynamoDB)') });
  });

  it('deploys the prebuilt bundles byte for byte: no esbuild ran and none is installed in the app', () => {
    const auth = templateOf('Auth');
    const functions = Object.values(auth).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    for (const fn of functions) {
      expect(fn.Properties?.['Handler']).toBe('index.handler');
      expect(fn.Properties?.['Runtime']).toBe('nodejs24.x');
    }
    const shipped = FUNCTION_NAMES.map((name) => sha256(join(installed, 'dist', 'lambdas', name, 'index.mjs')));
    expect(Object.values(deployedBundles('Auth', outdir)).sort()).toEqual(shipped.sort());
    expect(existsSync(join(consumer, 'node_modules', 'esbuild'))).toBe(false);
    expect(existsSync(join(consumer, 'node_modules', '.bin', 'esbuild'))).toBe(false);
  });

  it('gets the functions this repository bundles from source at synth: same code, same properties', () => {
    // npm run build and AuthFunction's NodejsFunction must not drift apart: the same esbuild
    // settings give the same index.mjs (only source-map paths differ, so maps are not compared).
    const sourceOut = join(scratch, 'source.out');
    const app = new App({ outdir: sourceOut });
    const stack = new Stack(app, 'Auth', { env: { account: '111111111111', region: 'eu-west-1' } });
    new KmsJwtAuth(stack, 'Auth', { removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false });
    app.synth();
    expect(deployedBundles('Auth', sourceOut)).toEqual(deployedBundles('Auth', outdir));
    const withoutCode = (resources: Resources): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(resources)
          .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
          .map(([id, r]) => [id, { ...r.Properties, Code: undefined }]),
      );
    expect(withoutCode(templateOf('Auth', sourceOut))).toEqual(withoutCode(templateOf('Auth')));
  }, TIMEOUT_MS);

  it('imports the client from kms-jwt-auth/client', () => {
    expect(report.createAuthClient).toBe('function');
    expect(report.clientExports).toContain('memoryStorage');
  });

  it('type-checks TypeScript that uses the construct and the client against the shipped declarations', () => {
    expect(typecheck.output).toBe('');
    expect(typecheck.code).toBe(0);
  });
});
