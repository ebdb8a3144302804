/**
 * The operator CLI as an operator runs it (a real process, the password on standard input) refuses
 * a password that breaks a new-password rule: one line naming the rule, never the password, a
 * non-zero exit, and before any DynamoDB call (its endpoint here is a closed port, which would
 * otherwise show as a different failure).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, freePort } from '../../support/local-process.ts';

async function runAdmin(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const closedPort = await freePort();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'cli/admin.ts', '--table', 'no-such-table', ...args], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${closedPort}`,
        AWS_MAX_ATTEMPTS: '1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(`${stdin}\n`);
  });
}

describe('the admin CLI refuses a password that breaks a rule', () => {
  it.each([
    ['create-user', 'too short', 'short pass', /too short: use at least 15 characters/],
    ['create-user', 'common', 'qwerty123456789', /commonly used or breached/],
    ['create-user', 'derived from the username', 'alice2024alice2024', /derived from the username/],
    ['set-password', "derived from the service's name", 'kms-jwt-auth-2024!', /derived from the service's name/],
  ])('%s: %s, in one line, without the password', async (command, _rule, password, expected) => {
    const run = await runAdmin([command, 'alice'], password);
    expect(run.code).not.toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
    expect(run.stderr + run.stdout).not.toContain(password);
    expect(run.stderr).not.toMatch(/ECONNREFUSED|temporarily unavailable/i);
  });
});
