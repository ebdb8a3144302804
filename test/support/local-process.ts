/**
 * `npm start` (or `tsx local/start.ts`) as a real child process, for the tests of what a developer
 * sees: the printed guide, readiness, stopping, startup errors. Every process it starts carries a
 * marker in its environment, which its children inherit, so a test can find everything the run
 * started (the tsx wrapper, node, the JVM) in /proc and check that nothing outlives it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX_CLI = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const MARKER = 'KMS_JWT_AUTH_TEST_RUN';

export interface LocalProcess {
  readonly child: ChildProcess;
  readonly marker: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; rejects after `timeoutMs` or on exit. */
  waitForStdout(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal) once the process has exited; rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to every process still carrying this run's marker (cleanup after a failed test). */
  killAll(): void;
}

export interface SpawnLocalOptions {
  /** `npm start` (true) or `node tsx-cli local/start.ts` (false: needs no npm on PATH). */
  readonly viaNpm?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function spawnLocal(options: SpawnLocalOptions = {}): LocalProcess {
  const marker = randomUUID();
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, ...options.env })) {
    if (value !== undefined) env[name] = value;
  }
  env[MARKER] = marker;
  const [command, args] = options.viaNpm === true ? ['npm', ['start']] : [process.execPath, [TSX_CLI, 'local/start.ts']];
  // Not detached: the test signals exactly the pid it is given, as `kill PID` or an IDE would.
  const child = spawn(command, args as string[], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    notify();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
    notify();
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exit = { code, signal };
    notify();
  });

  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`));
      }, timeoutMs);
      const listener = (): void => {
        attempt();
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      listeners.add(listener);
      attempt();
    });

  return {
    child,
    marker,
    stdout: () => out,
    stderr: () => err,
    waitForStdout: (pattern, timeoutMs) =>
      waitUntil(
        () => {
          const match = out.match(pattern);
          if (match !== null) return match;
          if (exit !== undefined) throw new Error(`exited (${JSON.stringify(exit)}) before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`);
          return undefined;
        },
        timeoutMs,
        String(pattern),
      ),
    exited: (timeoutMs) => waitUntil(() => exit, timeoutMs, 'exit'),
    killAll: () => {
      for (const pid of processesWithMarker(marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

/** Live (non-zombie) processes whose environment carries the marker (Linux /proc). */
export function processesWithMarker(marker: string): number[] {
  const wanted = `${MARKER}=${marker}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (!environ.split('\0').includes(wanted)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z') found.push(Number(entry));
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return found;
}

/** Polls until `check` is true; false after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
