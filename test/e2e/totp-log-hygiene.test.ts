/**
 * The TOTP secret never appears in a log line, nor in any response after the enrolment that hands
 * it out; recovery codes and mfa_tokens never appear in a log line either (SECURITY.md, "Second
 * factor"). Mirrors test/e2e/log-hygiene.test.ts: everything written to stdout, stderr and
 * `console.*` is captured at log level DEBUG while the whole TOTP lifecycle runs over HTTP,
 * failures included (wrong codes, a KMS fault, DynamoDB down), then searched for every secret in
 * every form the service handles it (base32, raw bytes as hex and base64, the otpauth URI).
 */
import { format } from 'node:util';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request, type Reply, type RequestOptions } from '../support/http-client.ts';

const PASSWORD = 'totp-hygiene-passphrase-4f1a';

const captured: string[] = [];
type Write = typeof process.stdout.write;
const originalStdout: Write = process.stdout.write.bind(process.stdout);
const originalStderr: Write = process.stderr.write.bind(process.stderr);
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
const originalConsole = new Map(CONSOLE_METHODS.map((name) => [name, console[name]]));

function record(chunk: unknown): void {
  captured.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk));
}

function interceptingWrite(): Write {
  return ((chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
    record(chunk);
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }) as Write;
}

process.stdout.write = interceptingWrite();
process.stderr.write = interceptingWrite();
for (const name of CONSOLE_METHODS) console[name] = (...args: unknown[]) => record(format(...args));

function restoreOutput(): void {
  process.stdout.write = originalStdout;
  process.stderr.write = originalStderr;
  for (const [name, method] of originalConsole) console[name] = method;
}

let service: LocalService;
let dynamo: CountingProxy;
let counted: CountedService | undefined;
/** Every response body after the enrolment's, as text. */
const laterResponses: string[] = [];

async function call(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const reply = await request(service.url, method, path, options);
  laterResponses.push(JSON.stringify(reply.body), JSON.stringify([...reply.headers]));
  return reply;
}

beforeAll(async () => {
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
  counted = await startCountedService({ demoPassword: PASSWORD });
  ({ service, dynamo } = counted);
});

afterAll(async () => {
  restoreOutput();
  vi.unstubAllEnvs();
  await counted?.stop();
});

describe('TOTP log hygiene', () => {
  let secret = '';
  let otpauthUri = '';
  let recoveryCodes: string[] = [];
  const mfaTokens: string[] = [];
  const codeAt = (offset: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + offset * 30_000 });

  it('runs the TOTP lifecycle with its failures', async () => {
    const login = await request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } });
    const bearer = { authorization: `Bearer ${String(login.body['access_token'])}` };
    const enrol = await request(service.url, 'POST', '/mfa/totp/enroll', { json: {}, headers: bearer });
    expect(enrol.status).toBe(200);
    secret = String(enrol.body['secret']);
    otpauthUri = String(enrol.body['otpauth_uri']);

    expect((await call('POST', '/mfa/totp/confirm', { json: { otp: String((Number(codeAt(0)) + 3) % 1_000_000).padStart(6, '0') }, headers: bearer })).status).toBe(400);
    const confirm = await call('POST', '/mfa/totp/confirm', { json: { otp: codeAt(-1) }, headers: bearer });
    expect(confirm.status).toBe(200);
    recoveryCodes = confirm.body['recovery_codes'] as string[];
    laterResponses.pop(); // the one response that carries the recovery codes (never the secret)
    laterResponses.pop();
    expect(JSON.stringify(confirm.body)).not.toContain(secret);

    const mfaLogin = async () => {
      const reply = await call('POST', '/login', { json: { username: 'demo', password: PASSWORD } });
      expect(reply.status).toBe(401);
      const token = String(reply.body['mfa_token']);
      mfaTokens.push(token);
      return token;
    };
    // Failures, each followed by a success (which clears the per-user+IP login counter, so the
    // failures do not add up to a 429 here; test/e2e/totp.test.ts covers that).
    expect((await call('POST', '/login/mfa', { json: { mfa_token: await mfaLogin(), otp: '000000' } })).status).toBe(401);
    const ok = await call('POST', '/login/mfa', { json: { mfa_token: await mfaLogin(), otp: codeAt(0) } });
    expect(ok.status).toBe(200);
    service.kms.injectFault({ errorType: 'KMSInternalException', operations: ['Decrypt'] });
    expect((await call('POST', '/login/mfa', { json: { mfa_token: await mfaLogin(), otp: codeAt(1) } })).status).toBe(503);
    service.kms.clearFaults();
    const used = await call('POST', '/login/mfa', { json: { mfa_token: await mfaLogin(), recovery_code: recoveryCodes[0] } });
    expect(used.status).toBe(200);
    dynamo.failWith({ status: 500, type: 'InternalServerError', operations: ['TransactWriteItems'] });
    expect((await call('POST', '/login/mfa', { json: { mfa_token: await mfaLogin(), otp: codeAt(1) } })).status).toBe(503);
    dynamo.failWith(undefined);
    const session = { authorization: `Bearer ${String(ok.body['access_token'])}` };
    expect((await call('GET', '/account', { headers: session })).body['mfa']).toEqual({ totp: true });
    expect((await call('POST', '/mfa/totp/enroll', { json: {}, headers: session })).status).toBe(400);
    expect((await call('POST', '/mfa/totp/remove', { json: { recovery_code: recoveryCodes[1] }, headers: session })).status).toBe(200);
  });

  it('never writes the secret, the otpauth URI, a recovery code or an mfa_token to the log', () => {
    const raw = Buffer.from(Secret.fromBase32(secret).bytes);
    const forms = [secret, otpauthUri, encodeURIComponent(otpauthUri), raw.toString('hex'), raw.toString('base64'), raw.toString('base64url')];
    const text = captured.join('');
    expect(text.length).toBeGreaterThan(0);
    expect(text).toContain('"audit":"mfa_enrolled"');
    expect(text).toContain('"audit":"recovery_code_used"');
    expect(text).toContain('"audit":"mfa_removed"');
    for (const form of forms) expect(text).not.toContain(form);
    for (const code of recoveryCodes) {
      expect(text).not.toContain(code);
      expect(text).not.toContain(code.replace(/-/g, ''));
    }
    expect(mfaTokens.length).toBeGreaterThan(0);
    for (const token of mfaTokens) expect(text).not.toContain(token);
  });

  it('never answers with the secret again after the enrolment', () => {
    const raw = Buffer.from(Secret.fromBase32(secret).bytes);
    const text = laterResponses.join('\n');
    for (const form of [secret, raw.toString('hex'), raw.toString('base64'), raw.toString('base64url')]) expect(text).not.toContain(form);
  });
});
