/**
 * Launcher for DynamoDB Local, AWS's official DynamoDB emulator (a Java jar), for `npm start`
 * and the integration tests.
 *
 * Where the jar comes from: the npm package `amplify-dynamodb-simulator@2.9.30` ships DynamoDB
 * Local in its `emulator/` folder. We do not depend on that package (its dependency tree is
 * huge); instead `npm pack` fetches only its tarball (npm checks the registry's integrity hash),
 * we extract only `package/emulator/**`, and we pin the sha256 of `DynamoDBLocal.jar` so a changed
 * tarball fails loudly instead of running unknown code.
 *
 * Cache: `$KMS_JWT_AUTH_CACHE/dynamodb-local-2.9.30/`, or `~/.cache/kms-jwt-auth/dynamodb-local-2.9.30/`
 * when the variable is unset. It is filled atomically (extract into a temporary sibling folder,
 * verify, then rename), so two processes racing to fill it cannot leave a half-written copy.
 *
 * DynamoDB Local options used are those printed by `java -jar DynamoDBLocal.jar -help`; see
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DynamoDBLocal.UsageNotes.html
 * It is a development tool, not a trust boundary: it accepts any credentials, and it listens on
 * every interface (it has no bind-address option).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

const execFileAsync = promisify(execFile);

const DYNAMODB_LOCAL_PACKAGE = 'amplify-dynamodb-simulator';
const DYNAMODB_LOCAL_VERSION = '2.9.30';
/** sha256 of `package/emulator/DynamoDBLocal.jar` in amplify-dynamodb-simulator@2.9.30. */
const DYNAMODB_LOCAL_JAR_SHA256 =
  '454305e9bc3e6ebcca5b62569869e31563b8d7e346474e94557b2600702146c7';

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_BYTES = 8_192;

export interface DynamoDbLocal {
  /** e.g. `http://127.0.0.1:45123`; pass as the client `endpoint` or `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  readonly port: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the JVM has exited. */
  stop(): Promise<void>;
}

interface StartDynamoDbLocalOptions {
  /** 0 or undefined: a free port picked at start. */
  readonly port?: number;
  /** Keep tables on disk in this folder (`-dbPath`) instead of in memory (`-inMemory`). */
  readonly persistDir?: string;
}

export class DynamoDbLocalError extends Error {
  override readonly name = 'DynamoDbLocalError';
}

/** Cache root; the emulator lives in `<root>/dynamodb-local-<version>/`. */
function dynamoDbLocalCacheDir(): string {
  const root = process.env['KMS_JWT_AUTH_CACHE'];
  const base = root !== undefined && root !== '' ? root : join(homedir(), '.cache', 'kms-jwt-auth');
  return join(base, `dynamodb-local-${DYNAMODB_LOCAL_VERSION}`);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

async function jarMatches(emulatorDir: string): Promise<boolean> {
  const jar = join(emulatorDir, 'DynamoDBLocal.jar');
  try {
    const info = await stat(jar);
    if (!info.isFile()) return false;
  } catch {
    return false;
  }
  return (await sha256File(jar)) === DYNAMODB_LOCAL_JAR_SHA256;
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const { code } = err as { code: unknown };
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

async function fetchIntoCache(finalDir: string): Promise<void> {
  const parent = join(finalDir, '..');
  await mkdir(parent, { recursive: true });
  // Same parent as the final folder, so the rename below is atomic (same filesystem).
  const work = await mkdtemp(join(parent, `.dynamodb-local-${DYNAMODB_LOCAL_VERSION}.tmp-`));
  try {
    try {
      await execFileAsync(
        'npm',
        ['pack', `${DYNAMODB_LOCAL_PACKAGE}@${DYNAMODB_LOCAL_VERSION}`, '--pack-destination', work],
        { cwd: work, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 },
      );
    } catch (err) {
      throw new DynamoDbLocalError(
        `npm pack ${DYNAMODB_LOCAL_PACKAGE}@${DYNAMODB_LOCAL_VERSION} failed; DynamoDB Local cannot be fetched`,
        { cause: err },
      );
    }
    const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
    if (tarball === undefined) {
      throw new DynamoDbLocalError(`npm pack produced no tarball in ${work}`);
    }
    // Only the emulator folder: the rest of the package (JS code, scripts) is never unpacked.
    await execFileAsync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/emulator'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const extracted = join(work, 'package', 'emulator');
    const actual = await sha256File(join(extracted, 'DynamoDBLocal.jar'));
    if (actual !== DYNAMODB_LOCAL_JAR_SHA256) {
      throw new DynamoDbLocalError(
        `DynamoDBLocal.jar from ${DYNAMODB_LOCAL_PACKAGE}@${DYNAMODB_LOCAL_VERSION} has sha256 ${actual}, ` +
          `expected ${DYNAMODB_LOCAL_JAR_SHA256}. Refusing to run it. The published tarball changed ` +
          'or was tampered with; check the package before updating the pinned hash.',
      );
    }
    try {
      await rename(extracted, finalDir);
    } catch (err) {
      const code = errorCode(err);
      // Another process won the race and renamed its verified copy first: use theirs.
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await jarMatches(finalDir))) return;
      throw err;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

let ensured: Promise<string> | undefined;

/**
 * Makes sure a verified DynamoDB Local is in the cache and returns its folder (the one holding
 * `DynamoDBLocal.jar` and `DynamoDBLocal_lib/`). Fetches it on first use. The jar's sha256 is
 * checked once per process, also when it was already cached.
 */
export function ensureDynamoDbLocal(): Promise<string> {
  ensured ??= (async () => {
    const dir = dynamoDbLocalCacheDir();
    if (await jarMatches(dir)) return dir;
    let exists = false;
    try {
      await stat(dir);
      exists = true;
    } catch {
      exists = false;
    }
    if (exists) {
      throw new DynamoDbLocalError(
        `${dir} exists but DynamoDBLocal.jar is missing or its sha256 is not ${DYNAMODB_LOCAL_JAR_SHA256}. ` +
          'Delete that folder to fetch a fresh copy.',
      );
    }
    await fetchIntoCache(dir);
    if (!(await jarMatches(dir))) {
      throw new DynamoDbLocalError(`DynamoDBLocal.jar in ${dir} failed verification after fetching`);
    }
    return dir;
  })();
  ensured.catch(() => {
    ensured = undefined; // let a later call retry after a failure
  });
  return ensured;
}

/** DynamoDB Local 2.x is built for Java 17 ("Deploying DynamoDB locally on your computer"). */
const MINIMUM_JAVA_MAJOR = 17;
const INSTALL_HINT = 'install a JRE 17 or later (e.g. apt-get install -y openjdk-17-jre-headless) and put its java on PATH';

/**
 * The major version in `java -version` output: `openjdk version "17.0.15"` → 17, and the old
 * scheme `java version "1.8.0_392"` → 8. Undefined when the output has no version in quotes.
 */
function javaMajorVersion(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

async function assertJavaAvailable(): Promise<void> {
  let output: string;
  try {
    const { stdout, stderr } = await execFileAsync('java', ['-version'], { timeout: 30_000 });
    output = `${stderr}\n${stdout}`; // java -version writes to stderr
  } catch (err) {
    const missing = errorCode(err) === 'ENOENT';
    throw new DynamoDbLocalError(
      missing
        ? `DynamoDB Local needs Java ${MINIMUM_JAVA_MAJOR} or later, and there is no java on PATH: ${INSTALL_HINT}.`
        : `DynamoDB Local needs Java ${MINIMUM_JAVA_MAJOR} or later, and \`java -version\` failed: ${INSTALL_HINT}.`,
      { cause: err },
    );
  }
  const major = javaMajorVersion(output);
  if (major !== undefined && major < MINIMUM_JAVA_MAJOR) {
    const found = /version "[^"]*"/.exec(output)?.[0] ?? String(major);
    throw new DynamoDbLocalError(
      `DynamoDB Local needs Java ${MINIMUM_JAVA_MAJOR} or later, and the java on PATH is Java ${major} (${found}): ${INSTALL_HINT}.`,
    );
  }
}

let launcher: Promise<string[]> | undefined;

/**
 * `java`, or on Linux `setpriv --pdeathsig KILL -- java` when util-linux's setpriv is there: the
 * kernel then kills the JVM if this process dies without running its 'exit' hook (SIGKILL, a
 * test runner killing its worker), which the hook alone cannot cover.
 */
function javaLauncher(): Promise<string[]> {
  launcher ??= (async () => {
    if (process.platform !== 'linux') return ['java'];
    try {
      await execFileAsync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { timeout: 10_000 });
      return ['setpriv', '--pdeathsig', 'KILL', '--', 'java'];
    } catch {
      return ['java'];
    }
  })();
  return launcher;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new DynamoDbLocalError('could not read the port of a probe socket'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** The last bytes a child wrote, for error messages. */
class OutputTail {
  private text = '';
  append(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  }
  toString(): string {
    return this.text.trim();
  }
}

// Children still running, killed synchronously when this process exits, so a JVM never
// outlives the test run or `npm start` that started it.
const liveChildren = new Set<ChildProcess>();
let hooksInstalled = false;

function killAllChildren(): void {
  for (const child of liveChildren) {
    child.kill('SIGKILL');
  }
}

function onTerminationSignal(signal: NodeJS.Signals): void {
  killAllChildren();
  // We only installed this listener because nobody else handled the signal. If we are still the
  // only listener, restore the default behaviour (terminate) by re-raising the signal.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onTerminationSignal);
    process.kill(process.pid, signal);
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (process.listenerCount(signal) === 0) {
      process.on(signal, onTerminationSignal);
    }
  }
}

async function waitUntilReady(
  endpoint: string,
  child: ChildProcess,
  stderr: OutputTail,
  stdout: OutputTail,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited: string | undefined;
  const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    exited = `exited with code ${String(code)}, signal ${String(signal)}`;
  };
  child.once('exit', onExit);
  try {
    for (;;) {
      // A failed bind leaves the JVM running (Jetty's threads keep it alive), so read stderr.
      if (exited === undefined && /Failed to bind|BindException/.test(stderr.toString())) {
        exited = 'could not bind its port';
      }
      if (exited !== undefined) {
        throw new DynamoDbLocalError(
          `DynamoDB Local ${exited} before answering.\nstderr tail:\n${stderr.toString()}\nstdout tail:\n${stdout.toString()}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), {
          abortSignal: AbortSignal.timeout(2_000),
        });
        return;
      } catch {
        // Not listening yet; retry below.
      }
      if (Date.now() > deadline) {
        throw new DynamoDbLocalError(
          `DynamoDB Local did not answer ListTables on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s.\n` +
            `stderr tail:\n${stderr.toString()}\nstdout tail:\n${stdout.toString()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    child.removeListener('exit', onExit);
    client.destroy();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      liveChildren.delete(child);
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts DynamoDB Local on 127.0.0.1:<port> and resolves once it answers ListTables.
 *
 * `-sharedDb` is always passed: without it DynamoDB Local keeps one database per access key and
 * Region, so the gateway, the Lambdas and the tests would see different tables whenever their
 * dummy credentials differ.
 */
export async function startDynamoDbLocal(opts: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  await assertJavaAvailable();
  const emulatorDir = await ensureDynamoDbLocal();
  if (opts.persistDir !== undefined) await mkdir(opts.persistDir, { recursive: true });
  const fixedPort = opts.port !== undefined && opts.port !== 0 ? opts.port : undefined;
  // A free port found by probing can be taken by someone else before the JVM binds it; then
  // try another one. A port the caller chose is tried once.
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    try {
      return await launch(emulatorDir, port, opts.persistDir);
    } catch (err) {
      const portTaken = err instanceof DynamoDbLocalError && /BindException|Address already in use/.test(err.message);
      if (fixedPort !== undefined || !portTaken || attempt >= 3) throw err;
    }
  }
}

async function launch(emulatorDir: string, port: number, persistDir: string | undefined): Promise<DynamoDbLocal> {
  const args = [
    '-Xmx512m',
    '-XX:+UseSerialGC', // two cores here: no parallel GC threads competing with the tests
    `-Djava.library.path=${join(emulatorDir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(emulatorDir, 'DynamoDBLocal.jar'),
    ...(persistDir !== undefined ? ['-dbPath', persistDir] : ['-inMemory']),
    '-sharedDb',
    '-port',
    String(port),
    // No phoning home; the machine has no network anyway.
    '-disableTelemetry',
  ];

  installExitHooks();
  const [command, ...prefix] = await javaLauncher();
  const child = spawn(command ?? 'java', [...prefix, ...args], { cwd: emulatorDir, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  const stderr = new OutputTail();
  const stdout = new OutputTail();
  child.stderr?.on('data', (chunk: Buffer) => stderr.append(chunk));
  child.stdout?.on('data', (chunk: Buffer) => stdout.append(chunk));
  child.once('exit', () => liveChildren.delete(child));
  const spawnFailed = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new DynamoDbLocalError(`could not start java: ${err.message}`, { cause: err })),
    );
  });

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitUntilReady(endpoint, child, stderr, stdout), spawnFailed]);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return {
    endpoint,
    port,
    stop: () => stopChild(child),
  };
}
