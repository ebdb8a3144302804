/**
 * The account function behind the Lambda authorizer, over HTTP against the local service (the
 * unchanged handlers, DynamoDB Local, the KMS stand-in): GET /account names the caller from its
 * own live session, and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../cli/operations.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { request } from '../support/http-client.ts';

const PASSWORD = 'correct horse battery staple';
const OTHER = { username: 'mallory', password: 'a different long passphrase here' };
let service: LocalService;

const login = async (username = 'demo', password = PASSWORD): Promise<string> => {
  const reply = await request(service.url, 'POST', '/login', { json: { username, password } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return String(reply.body['access_token']);
};
const account = (token: string) => request(service.url, 'GET', '/account', { headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD });
  await ops.createUser(service.operatorDeps(), OTHER.username, OTHER.password, ['read']);
});

afterAll(async () => {
  await service?.stop();
});

describe('GET /account', () => {
  it('answers the caller its own username, sub and scopes, never a hash, and is not cached', async () => {
    const [demo, other] = [await account(await login()), await account(await login(OTHER.username, OTHER.password))];
    expect(demo.status).toBe(200);
    expect(demo.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(demo.body).sort()).toEqual(['mfa', 'scopes', 'sub', 'username']);
    expect(demo.body['mfa']).toEqual({ totp: false });
    expect(demo.body['username']).toBe('demo');
    expect(other.body).toMatchObject({ username: OTHER.username, scopes: ['read'] });
    expect(other.body['sub']).not.toBe(demo.body['sub']);
    expect(JSON.stringify(demo.body)).not.toMatch(/argon2|passwordHash/);
  });

  it('refuses a token without one (401 from the authorizer) and a token whose session has ended', async () => {
    expect((await request(service.url, 'GET', '/account')).status).toBe(401);
    const token = await login(OTHER.username, OTHER.password);
    expect((await account(token)).status).toBe(200);
    await ops.revokeAll(service.operatorDeps(), OTHER.username);
    expect((await account(token)).status).toBe(401);
  });

  it('refuses a token of an account that was disabled, even while the token is otherwise valid', async () => {
    await ops.createUser(service.operatorDeps(), 'trent', 'yet another long passphrase', ['read']);
    const token = await login('trent', 'yet another long passphrase');
    await ops.disableUser(service.operatorDeps(), 'trent');
    expect((await account(token)).status).toBe(401);
  });
});
