/**
 * The operator CLI, as an operator runs it (`npm run admin -- --local reset-mfa <username>`, a
 * real process), removes a user's TOTP factor from the service `npm start` runs, and writes one
 * audit line naming the user by sub, never a secret.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../cli/operations.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { request } from '../support/http-client.ts';
import { REPO_ROOT } from '../support/local-process.ts';

const PASSWORD = 'operator reset passphrase';
const stateDir = mkdtempSync(join(tmpdir(), 'kms-jwt-auth-cli-'));
let service: LocalService;

function runAdmin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'cli/admin.ts', '--local', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, KMS_JWT_AUTH_STATE_DIR: stateDir, POWERTOOLS_DEV: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
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
  });
}

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD, stateDir });
});

afterAll(async () => {
  await service?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('admin CLI reset-mfa', () => {
  it('removes the factor and its recovery codes; login is password-only again; one audit line', async () => {
    await ops.createUser(service.operatorDeps(), 'lost-phone', PASSWORD, ['read']);
    const login = await request(service.url, 'POST', '/login', { json: { username: 'lost-phone', password: PASSWORD } });
    const bearer = { authorization: `Bearer ${String(login.body['access_token'])}` };
    const secret = String((await request(service.url, 'POST', '/mfa/totp/enroll', { json: {}, headers: bearer })).body['secret']);
    const otp = TOTP.generate({ secret: Secret.fromBase32(secret) });
    expect((await request(service.url, 'POST', '/mfa/totp/confirm', { json: { otp }, headers: bearer })).status).toBe(200);
    expect((await request(service.url, 'POST', '/login', { json: { username: 'lost-phone', password: PASSWORD } })).status).toBe(401);

    const run = await runAdmin(['reset-mfa', 'lost-phone']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('removed the TOTP factor of lost-phone');
    const auditLines = run.stdout.split('\n').filter((line) => line.includes('"audit"'));
    expect(auditLines).toHaveLength(1);
    expect(JSON.parse(auditLines[0] ?? '{}')).toMatchObject({ audit: 'mfa_removed', sub: claims(login.body['access_token'])['sub'], by: 'operator' });
    expect(run.stdout + run.stderr).not.toContain(secret);

    expect((await request(service.url, 'POST', '/login', { json: { username: 'lost-phone', password: PASSWORD } })).status).toBe(200);
    const again = await runAdmin(['reset-mfa', 'lost-phone']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('had no TOTP factor');
  });
});

function claims(token: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
