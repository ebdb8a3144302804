/**
 * Captures what the in-process service writes (the Powertools logger writes JSON lines to stdout,
 * the authorizer logs through `console`), swallowing it so the reporter stays readable. Install
 * before the service starts, with POWERTOOLS_DEV off so that lines are single JSON objects as in
 * Lambda.
 */
import { format } from 'node:util';

export interface LogCapture {
  /** Every captured line so far. */
  lines(): string[];
  /** The audit lines (`{ audit: … }`) so far, parsed. */
  auditEvents(): Record<string, unknown>[];
  stop(): void;
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

export function startLogCapture(): LogCapture {
  const captured: string[] = [];
  type Write = typeof process.stdout.write;
  const originalStdout: Write = process.stdout.write.bind(process.stdout);
  const originalStderr: Write = process.stderr.write.bind(process.stderr);
  const originalConsole = new Map(CONSOLE_METHODS.map((name) => [name, console[name]]));
  const record = (chunk: unknown): void => {
    captured.push(typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk));
  };
  const intercepting = ((chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
    record(chunk);
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }) as Write;
  process.stdout.write = intercepting;
  process.stderr.write = intercepting;
  for (const name of CONSOLE_METHODS) console[name] = (...args: unknown[]) => record(format(...args));
  const lines = (): string[] => captured.join('').split('\n').filter((line) => line.trim() !== '');
  return {
    lines,
    auditEvents: () =>
      lines().flatMap((line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          return typeof parsed === 'object' && parsed !== null && 'audit' in parsed ? [parsed as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    stop: () => {
      process.stdout.write = originalStdout;
      process.stderr.write = originalStderr;
      for (const [name, method] of originalConsole) console[name] = method;
    },
  };
}
