/**
 * `npm start` as a developer meets it: a real child process on a free port, its printed guide run
 * line by line in bash with curl, readiness, stopping with SIGTERM to the npm process alone, the
 * startup errors a developer can hit (port taken, no Java, old Java), and the operator CLI's view
 * of the state file. Every wait is bounded.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  eventually,
  freePort,
  portAnswers,
  processesWithMarker,
  spawnLocal,
  type LocalProcess,
} from '../support/local-process.ts';

const READY_MS = 120_000;
const READY = /is running at (http:\/\/\S+)/;
const started: LocalProcess[] = [];
const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'npm-start-test-'));
  tempDirs.push(dir);
  return dir;
}

function launch(options: Parameters<typeof spawnLocal>[0]): LocalProcess {
  const run = spawnLocal(options);
  started.push(run);
  return run;
}

afterEach(async () => {
  for (const run of started.splice(0)) run.killAll();
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

interface GuideLine {
  readonly command: string;
  readonly rc: number;
  /** HTTP statuses of the curl calls the line made, in order. */
  readonly statuses: number[];
}

/** The "Try it" block: the lines after its heading, up to the first blank line, indent removed. */
function guideCommands(stdout: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith('Try it'));
  expect(start, 'the guide has a "Try it" block').toBeGreaterThanOrEqual(0);
  const commands: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    expect(line.startsWith('  '), `guide lines are indented: ${line}`).toBe(true);
    commands.push(line.slice(2));
  }
  return commands;
}

/**
 * Runs the commands in one bash, in order, exactly as printed. A `curl` function wraps the real
 * curl only to report each response's status on stderr (through -D, so the printed options are
 * untouched), and each line's exit status is recorded after it.
 */
function runGuide(commands: string[], env: Record<string, string>): Promise<GuideLine[]> {
  const script = [
    `curl() { local h; h=$(mktemp); command curl -D "$h" "$@"; local rc=$?; printf '@@status %s\\n' "$(head -n1 "$h" | cut -d' ' -f2)" >&2; rm -f "$h"; return $rc; }`,
    ...commands.map((command, index) => `${command}\nprintf '@@line ${index} %d\\n' $? >&2`),
  ].join('\n');
  return new Promise((resolve, reject) => {
    const bash = spawn('bash', ['--noprofile', '--norc'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    bash.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    bash.stdout.resume();
    const timer = setTimeout(() => bash.kill('SIGKILL'), 60_000);
    bash.once('exit', () => {
      clearTimeout(timer);
      const results: GuideLine[] = [];
      let statuses: number[] = [];
      for (const line of stderr.split('\n')) {
        const status = /^@@status (\d*)$/.exec(line);
        if (status !== null) statuses.push(Number(status[1]));
        const done = /^@@line (\d+) (\d+)$/.exec(line);
        if (done !== null) {
          results.push({ command: commands[Number(done[1])] ?? '', rc: Number(done[2]), statuses });
          statuses = [];
        }
      }
      if (results.length !== commands.length) reject(new Error(`the guide stopped after ${results.length} lines:\n${stderr}`));
      else resolve(results);
    });
    bash.stdin.end(script);
  });
}

/** Each line ran, exited 0, and every curl answered the status its `# NNN` comment promises. */
function expectGuideWorked(results: GuideLine[]): void {
  expect(results.some((r) => r.statuses.length > 0), 'the guide calls the service').toBe(true);
  for (const { command, rc, statuses } of results) {
    expect(rc, `exit status of: ${command}`).toBe(0);
    const promised = /#\s*(\d{3})\b/.exec(command);
    if (statuses.length > 0) {
      expect(promised, `a curl line says which status to expect: ${command}`).not.toBeNull();
      expect(statuses, `statuses of: ${command}`).toEqual(statuses.map(() => Number(promised?.[1])));
    }
  }
}

function runAdmin(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'cli/admin.ts', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('the printed guide', () => {
  it('works line by line when pasted in order, with the generated demo password', async () => {
    const stateDir = await tempDir();
    const run = launch({ env: { PORT: '0', DEMO_PASSWORD: undefined, KMS_JWT_AUTH_STATE_DIR: stateDir } });
    await run.waitForStdout(READY, READY_MS);
    await run.waitForStdout(/Press Ctrl-C to stop/, 5_000);
    const results = await runGuide(guideCommands(run.stdout()), { DEMO_PASSWORD: '' });
    expectGuideWorked(results);
    // The sequence ends the sessions it started: the last line is logout-all, and it answered 200.
    expect(results.at(-1)?.command).toMatch(/logout-all/);
  });

  it('works line by line with DEMO_PASSWORD set, whatever characters the password has', async () => {
    const stateDir = await tempDir();
    const password = `it's a "quoted" $HOME \\ passphrase`;
    const run = launch({ env: { PORT: '0', DEMO_PASSWORD: password, KMS_JWT_AUTH_STATE_DIR: stateDir } });
    await run.waitForStdout(READY, READY_MS);
    await run.waitForStdout(/Press Ctrl-C to stop/, 5_000);
    expect(run.stdout()).not.toContain(password);
    expectGuideWorked(await runGuide(guideCommands(run.stdout()), { DEMO_PASSWORD: password }));

    // The operator CLI finds this instance through the state file.
    const admin = await runAdmin(['--local', 'list-sessions', 'demo'], { KMS_JWT_AUTH_STATE_DIR: stateDir });
    expect(admin.stderr).toBe('');
    expect(admin.code).toBe(0);
  });
});

describe('readiness', () => {
  it('answers nothing until the demo user exists: a login the moment JWKS answers 200 succeeds', async () => {
    const port = await freePort();
    const password = 'a demo passphrase chosen for this test';
    launch({ env: { PORT: String(port), DEMO_PASSWORD: password, KMS_JWT_AUTH_STATE_DIR: await tempDir() } });
    const url = `http://127.0.0.1:${port}`;
    const ready = await eventually(async () => {
      try {
        const res = await fetch(`${url}/.well-known/jwks.json`, { signal: AbortSignal.timeout(READY_MS) });
        return res.status === 200;
      } catch {
        return false;
      }
    }, READY_MS, 20);
    expect(ready).toBe(true);
    const login = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password }),
    });
    expect(login.status).toBe(200);
  });
});

describe('settings from the shell', () => {
  it('CORS_ORIGINS and COOKIE_MODE set in the shell reach the gateway and the functions', async () => {
    const port = await freePort();
    const origin = 'https://app.example';
    const run = launch({ env: { PORT: String(port), CORS_ORIGINS: origin, COOKIE_MODE: 'on', KMS_JWT_AUTH_STATE_DIR: await tempDir() } });
    await run.waitForStdout(READY, READY_MS);
    const url = `http://127.0.0.1:${port}`;
    const preflight = await fetch(`${url}/refresh`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    // Cookie mode is on in the functions too: a cookie logout is answered, not refused as disabled.
    const logout = await fetch(`${url}/refresh/revoke`, { method: 'POST', headers: { origin } });
    expect(logout.status).toBe(200);
  });
});

describe('stopping', () => {
  it('SIGTERM to the npm process alone stops everything it started and removes the state file', async () => {
    const port = await freePort();
    const stateDir = await tempDir();
    const run = launch({ viaNpm: true, env: { PORT: String(port), KMS_JWT_AUTH_STATE_DIR: stateDir } });
    await run.waitForStdout(READY, READY_MS);
    const processes = processesWithMarker(run.marker);
    // npm, tsx, node and the JVM at least.
    expect(processes.length).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(stateDir, 'endpoints.json'))).toBe(true);

    process.kill(run.child.pid ?? 0, 'SIGTERM');
    expect(await eventually(async () => !(await portAnswers(port)), 15_000)).toBe(true);
    expect(await eventually(() => processesWithMarker(run.marker).length === 0, 15_000)).toBe(true);
    expect(existsSync(join(stateDir, 'endpoints.json'))).toBe(false);
  });
});

describe('startup errors', () => {
  /** One line on stderr, no stack trace, a non-zero exit, and nothing left running. */
  async function expectOneLineFailure(run: LocalProcess, pattern: RegExp): Promise<string> {
    const { code } = await run.exited(60_000);
    expect(code).not.toBe(0);
    const stderr = run.stderr().trim();
    expect(stderr.split('\n'), stderr).toHaveLength(1);
    expect(stderr).toMatch(pattern);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(await eventually(() => processesWithMarker(run.marker).length === 0, 5_000)).toBe(true);
    return stderr;
  }

  let holder: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (holder === undefined ? resolve() : holder.close(() => resolve())));
    holder = undefined;
  });

  it('a port in use is one line naming the port and PORT, before any JVM starts', async () => {
    const server = createServer();
    holder = server;
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      }),
    );
    const started = Date.now();
    const run = launch({ env: { PORT: String(port), KMS_JWT_AUTH_STATE_DIR: await tempDir() } });
    const line = await expectOneLineFailure(run, /PORT/);
    expect(line).toContain(String(port));
    // Checked before the JVM: no 3-second emulator start first.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a DEMO_PASSWORD that breaks a password rule is one line naming the rule, never the password, before any JVM starts', async () => {
    const started = Date.now();
    const password = 'demo demo 1234';
    const run = launch({ env: { PORT: '0', DEMO_PASSWORD: password, KMS_JWT_AUTH_STATE_DIR: await tempDir() } });
    const line = await expectOneLineFailure(run, /DEMO_PASSWORD is refused \(too_short\).*at least 15 characters/);
    expect(line).not.toContain(password);
    expect(run.stdout()).not.toContain(password);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('no Java on PATH is one line saying Java 17 or later is needed', async () => {
    const bin = await tempDir();
    await symlink(process.execPath, join(bin, 'node'));
    const run = launch({ env: { PORT: '0', PATH: bin, KMS_JWT_AUTH_STATE_DIR: await tempDir() } });
    await expectOneLineFailure(run, /Java 17/);
  });

  it('an old Java is one line naming the version found and the one needed', async () => {
    const bin = await tempDir();
    const fake = join(bin, 'java');
    await writeFile(fake, `#!/bin/sh\necho 'openjdk version "11.0.22" 2024-01-16' >&2\necho 'OpenJDK Runtime Environment' >&2\nexit 0\n`);
    await chmod(fake, 0o755);
    const run = launch({ env: { PORT: '0', PATH: `${bin}:${process.env['PATH'] ?? ''}`, KMS_JWT_AUTH_STATE_DIR: await tempDir() } });
    const line = await expectOneLineFailure(run, /Java 17/);
    expect(line).toContain('11');
  });
});

describe('the operator CLI and a stale state file', () => {
  it('refuses clearly when the instance the state file names is gone', async () => {
    const stateDir = await tempDir();
    // A pid that has exited, and endpoints nobody listens on.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const [dynamoPort, kmsPort] = [await freePort(), await freePort()];
    await writeFile(
      join(stateDir, 'endpoints.json'),
      JSON.stringify({
        pid: gone.pid,
        tableName: 'kms-jwt-auth-local',
        dynamodbEndpoint: `http://127.0.0.1:${dynamoPort}`,
        kmsEndpoint: `http://127.0.0.1:${kmsPort}`,
        region: 'us-east-1',
        signingKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/gone',
      }),
    );
    const started = Date.now();
    const admin = await runAdmin(['--local', 'list-sessions', 'demo'], { KMS_JWT_AUTH_STATE_DIR: stateDir });
    expect(admin.code).not.toBe(0);
    expect(admin.stderr.trim().split('\n')).toHaveLength(1);
    expect(admin.stderr).toMatch(/not running/);
    expect(admin.stderr).toMatch(/npm start/);
    expect(admin.stderr).not.toMatch(/temporarily unavailable/i);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
