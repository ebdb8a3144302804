/**
 * POST /account/delete and the CLI's delete-user over HTTP against the local service (the
 * unchanged handlers behind the authorizer, DynamoDB Local through a counting proxy that can fail
 * requests, the KMS stand-in), with the table checked directly: every session ends at once, the
 * credentials, sessions and user item are erased, the revocation item stays until the tokens it
 * denies have expired, and a username created again starts from nothing.
 */
import { GetItemCommand, PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as ops from '../../cli/operations.ts';
import { createDynamoDbClient } from '../../lambdas/adapters/runtime.ts';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { proxyEventV2 } from '../support/events.ts';
import { request, type Reply } from '../support/http-client.ts';
import { expectWithinGrants, grantedActions, observeActions } from '../support/iam-grants.ts';
import { startLogCapture, type LogCapture } from '../support/log-capture.ts';

let counted: CountedService | undefined;
let service: LocalService;
let dynamo: CountingProxy;
let table: DynamoDBClient;
let logs: LogCapture;
const secrets = new Set<string>();

interface Session {
  readonly access: string;
  readonly refresh: string;
  readonly sub: string;
  readonly sid: string;
}

const post = (path: string, token: string | undefined, json: unknown): Promise<Reply> =>
  request(service.url, 'POST', path, { json, ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const whoami = (token: string) => request(service.url, 'GET', '/whoami', { headers: bearer(token) });
const loginReply = (username: string, password: string): Promise<Reply> => {
  secrets.add(password);
  return post('/login', undefined, { username, password });
};
function claims(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
async function signIn(username: string, password: string): Promise<Session> {
  const reply = await loginReply(username, password);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  const access = String(reply.body['access_token']);
  const refresh = String(reply.body['refresh_token']);
  secrets.add(access);
  secrets.add(refresh);
  return { access, refresh, sub: String(claims(access)['sub']), sid: String(claims(access)['sid']) };
}
async function refresh(token: string): Promise<Reply> {
  const reply = await post('/refresh', undefined, { refresh_token: token });
  for (const name of ['access_token', 'refresh_token']) if (typeof reply.body[name] === 'string') secrets.add(reply.body[name]);
  return reply;
}
const deleteAccount = (token: string, password: string): Promise<Reply> => {
  secrets.add(password);
  return post('/account/delete', token, { password });
};

/** A fresh user with `sessions` signed-in sessions and, under its partition, the items other features store. */
async function userWithData(username: string, password: string, sessions: number, extraSks: readonly string[] = ['PASSKEY#cred-1', 'RECOVERY#0', 'PENDING#TOTP']): Promise<Session[]> {
  await ops.createUser(service.operatorDeps(), username, password, ['read']);
  const out: Session[] = [];
  for (let i = 0; i < sessions; i++) out.push(await signIn(username, password));
  const sub = out[0]?.sub ?? '';
  for (const sk of extraSks) {
    // A confirmed TOTP factor as the TOTP store writes it (adapters/dynamodb/second-factors.ts).
    const factor = sk === 'FACTOR#TOTP' ? { factorId: { S: 'factor-1' }, sealedSecret: { B: new Uint8Array([1, 2, 3]) }, lastStep: { N: '0' } } : {};
    await put({ pk: { S: `SUB#${sub}` }, sk: { S: sk }, note: { S: 'test item' }, ...factor });
  }
  return out;
}

const put = (item: Record<string, AttributeValue>) => table.send(new PutItemCommand({ TableName: service.tableName, Item: item }));
async function partition(pk: string): Promise<string[]> {
  const result = await table.send(new QueryCommand({ TableName: service.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: pk } }, ConsistentRead: true }));
  return (result.Items ?? []).map((item) => item['sk']?.S ?? '');
}
const getItem = (pk: string, sk: string) =>
  table.send(new GetItemCommand({ TableName: service.tableName, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true })).then((r) => r.Item);

/** Everything a deleted account must have left behind: nothing but its revocation item. */
async function expectErased(username: string, sub: string, options: { counters?: boolean } = {}): Promise<void> {
  expect(await partition(`SUB#${sub}`)).toEqual([]);
  expect(await partition(`USER#${username}`)).toEqual([]);
  if (options.counters !== false) expect(await getItem(`RATE#USER#${username}`, 'RATE')).toBeUndefined();
  const deny = await getItem(`DENY#SUB#${sub}`, 'DENY');
  expect(deny).toBeDefined();
  // Kept at least until the longest-lived access token could expire (15 min + 5 min skew here).
  expect(Number(deny?.['ttl']?.N)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 900);
}

beforeAll(async () => {
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  logs = startLogCapture();
  counted = await startCountedService({ demoPassword: 'correct horse battery staple' });
  ({ service, dynamo } = counted);
  table = createDynamoDbClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, endpoint: service.dynamo.endpoint });
});

afterAll(async () => {
  logs?.stop();
  vi.unstubAllEnvs();
  await counted?.stop();
});

describe('POST /account/delete', () => {
  it('ends every session at once and erases the account: only the revocation item remains', async () => {
    const [mine, other] = await userWithData('kate', 'kate first long passphrase', 2);
    if (mine === undefined || other === undefined) throw new Error('two sessions');
    // A failed login leaves a username-wide throttle counter, which goes with the account.
    expect((await loginReply('kate', 'kate wrong long passphrase')).status).toBe(401);
    expect(await getItem('RATE#USER#kate', 'RATE')).toBeDefined();

    const reply = await deleteAccount(mine.access, 'kate first long passphrase');
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({ deleted: true, sessions_ended: 2 });

    await expectErased('kate', mine.sub);
    for (const session of [mine, other]) {
      expect((await whoami(session.access)).status).toBe(401);
      expect((await refresh(session.refresh)).status).toBe(401);
    }
    expect((await loginReply('kate', 'kate first long passphrase')).status).toBe(401);
  });

  it('refuses a wrong password with 400 invalid_grant and changes nothing; a missing or unknown field is a 400', async () => {
    const [mine, other] = await userWithData('liam', 'liam first long passphrase', 2);
    if (mine === undefined || other === undefined) throw new Error('two sessions');
    const wrong = await deleteAccount(mine.access, 'liam WRONG long passphrase');
    expect(wrong.status).toBe(400);
    expect(wrong.body['error']).toBe('invalid_grant');
    expect(JSON.stringify(wrong.body)).not.toContain('passphrase');
    for (const body of [{}, { password: 'liam first long passphrase', sub: mine.sub }, { password: 7 }]) {
      expect((await post('/account/delete', mine.access, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await post('/account/delete', undefined, { password: 'liam first long passphrase' })).status).toBe(401);
    expect((await whoami(other.access)).status).toBe(200);
    expect((await refresh(other.refresh)).status).toBe(200);
    expect((await loginReply('liam', 'liam first long passphrase')).status).toBe(200);
    expect((await partition(`SUB#${mine.sub}`)).filter((sk) => !sk.startsWith('FAMILY#')).sort()).toEqual(['PASSKEY#cred-1', 'PENDING#TOTP', 'RECOVERY#0']);
  });

  it('a username deleted and created again is a new account: new sub, old tokens refused, old sessions invisible', async () => {
    const [old] = await userWithData('mona', 'mona first long passphrase', 1);
    if (old === undefined) throw new Error('one session');
    expect((await deleteAccount(old.access, 'mona first long passphrase')).status).toBe(200);

    await ops.createUser(service.operatorDeps(), 'mona', 'mona second long passphrase', ['read']);
    const fresh = await signIn('mona', 'mona second long passphrase');
    expect(fresh.sub).not.toBe(old.sub);
    expect((await whoami(old.access)).status).toBe(401);
    expect((await refresh(old.refresh)).status).toBe(401);
    expect((await loginReply('mona', 'mona first long passphrase')).status).toBe(401);
    expect((await whoami(fresh.access)).status).toBe(200);
    const sessions = await request(service.url, 'GET', '/sessions', { headers: bearer(fresh.access) });
    expect(sessions.status).toBe(200);
    expect(JSON.stringify(sessions.body)).not.toContain(old.sid);
    expect(JSON.stringify(sessions.body)).toContain(fresh.sid);
    const account = await request(service.url, 'GET', '/account', { headers: bearer(fresh.access) });
    expect(account.body['sub']).toBe(fresh.sub);
    // The old account's revocation item denies nothing of the new one (another sub).
    expect(await getItem(`DENY#SUB#${fresh.sub}`, 'DENY')).toBeUndefined();
  });

  it('with a second factor, a token without mfa in amr is refused (403 insufficient_user_authentication, nothing changes); one with it deletes', async () => {
    const [mine] = await userWithData('nina', 'nina first long passphrase', 1, ['FACTOR#TOTP', 'RECOVERY#0']);
    if (mine === undefined) throw new Error('one session');
    const refused = await deleteAccount(mine.access, 'nina first long passphrase');
    expect(refused.status).toBe(403);
    expect(refused.body['error']).toBe('insufficient_user_authentication');
    expect((await whoami(mine.access)).status).toBe(200);
    expect((await partition(`SUB#${mine.sub}`)).filter((sk) => !sk.startsWith('FAMILY#')).sort()).toEqual(['FACTOR#TOTP', 'RECOVERY#0']);

    // The authorizer's context for a token that shows a second factor (RFC 8176 `mfa`).
    const context = { sub: mine.sub, sid: mine.sid, scope: 'read', jti: String(claims(mine.access)['jti']), amr: 'pwd otp mfa', auth_time: String(claims(mine.access)['auth_time']) };
    const event = proxyEventV2('POST /account/delete', { json: { password: 'nina first long passphrase' }, authorizerContext: context }) as unknown as APIGatewayProxyEventV2;
    const lambdaContext = { awsRequestId: 'test', functionName: 'account', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
    const result = (await service.handlers.account(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
    expect(result.statusCode, String(result.body)).toBe(200);
    expect((await whoami(mine.access)).status).toBe(401);
    await expectErased('nina', mine.sub);
  });

  it('a DynamoDB fault while erasing the credentials is a 503, the account is unusable meanwhile, and the same request again finishes', async () => {
    const [mine, other] = await userWithData('oskar', 'oskar first long passphrase', 2, ['FACTOR#TOTP', 'PASSKEY#1']);
    if (mine === undefined || other === undefined) throw new Error('two sessions');
    // FACTOR#TOTP is a second factor: the token needs mfa. Use the handler with amr mfa.
    const context = { sub: mine.sub, sid: mine.sid, scope: 'read', amr: 'pwd mfa' };
    const call = async (): Promise<APIGatewayProxyStructuredResultV2> =>
      (await service.handlers.account(
        proxyEventV2('POST /account/delete', { json: { password: 'oskar first long passphrase' }, authorizerContext: context }) as unknown as APIGatewayProxyEventV2,
        { awsRequestId: 'test', functionName: 'account', getRemainingTimeInMillis: () => 10_000 } as unknown as Context,
      )) as APIGatewayProxyStructuredResultV2;
    dynamo.failOperation({ operation: 'BatchWriteItem', times: 2 });
    const failed = await call();
    dynamo.failOperation(undefined);
    expect(failed.statusCode).toBe(503);
    // Half-way: nobody can sign in, not even with the right password.
    expect((await loginReply('oskar', 'oskar first long passphrase')).status).toBe(401);
    const retried = await call();
    expect(retried.statusCode, String(retried.body)).toBe(200);
    for (const session of [mine, other]) {
      expect((await whoami(session.access)).status).toBe(401);
      expect((await refresh(session.refresh)).status).toBe(401);
    }
    await expectErased('oskar', mine.sub);
  });

  it('a fault after the sessions ended is a 503 with every token already refused; the operator\'s delete-user finishes', async () => {
    const [mine, other] = await userWithData('petra', 'petra first long passphrase', 2);
    if (mine === undefined || other === undefined) throw new Error('two sessions');
    // The first BatchWriteItem erases the credentials; fail the second (the sessions), both SDK attempts.
    dynamo.failOperation({ operation: 'BatchWriteItem', skip: 1, times: 2 });
    const failed = await deleteAccount(mine.access, 'petra first long passphrase');
    dynamo.failOperation(undefined);
    expect(failed.status).toBe(503);
    for (const session of [mine, other]) {
      expect((await whoami(session.access)).status).toBe(401);
      expect((await refresh(session.refresh)).status).toBe(401);
    }
    expect((await loginReply('petra', 'petra first long passphrase')).status).toBe(401);
    // Half-deleted, it cannot be brought back, only finished.
    await expect(ops.enableUser(service.operatorDeps(), 'petra')).rejects.toThrow(/being deleted; finish with delete-user/);
    expect((await loginReply('petra', 'petra first long passphrase')).status).toBe(401);
    await ops.deleteUser(service.operatorDeps(), 'petra');
    await expectErased('petra', mine.sub);
    expect((await loginReply('petra', 'petra first long passphrase')).status).toBe(401);
  });

  it('throttles wrong passwords like a login: 429 after five', async () => {
    const [mine] = await userWithData('quinn', 'quinn first long passphrase', 1);
    if (mine === undefined) throw new Error('one session');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await deleteAccount(mine.access, `quinn guess number ${i}`)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    expect((await deleteAccount(mine.access, 'quinn first long passphrase')).status).toBe(429);
    expect((await whoami(mine.access)).status).toBe(200);
  });

  it('uses only what the account function is granted (lib/function-access.ts)', async () => {
    const [mine] = await userWithData('rosa', 'rosa first long passphrase', 2);
    if (mine === undefined) throw new Error('two sessions');
    const seen = await observeActions(dynamo, service.kms, async () => {
      expect((await deleteAccount(mine.access, 'rosa first long passphrase')).status).toBe(200);
    });
    expect(seen.dynamo).toContain('dynamodb:BatchWriteItem');
    expectWithinGrants(seen, grantedActions('account'));
  });
});

describe('the CLI delete-user', () => {
  it('ends every session at once and erases the account the same way', async () => {
    const [a, b] = await userWithData('sven', 'sven first long passphrase', 2, ['FACTOR#TOTP', 'PASSKEY#9']);
    if (a === undefined || b === undefined) throw new Error('two sessions');
    const deletion = await ops.deleteUser(service.operatorDeps(), 'sven');
    expect(deletion).toMatchObject({ sub: a.sub, sessionsEnded: 2, credentialsErased: 2 });
    for (const session of [a, b]) {
      expect((await whoami(session.access)).status).toBe(401);
      expect((await refresh(session.refresh)).status).toBe(401);
    }
    await expectErased('sven', a.sub);
    await expect(ops.deleteUser(service.operatorDeps(), 'sven')).rejects.toThrow(/No user/);
  });
});

describe('audit', () => {
  it('writes account_deleted with sub, sid and counts, and no password or token in any line', () => {
    const events = logs.auditEvents().filter((event) => event['audit'] === 'account_deleted');
    expect(events.length).toBeGreaterThanOrEqual(5);
    for (const event of events) {
      expect(typeof event['sub']).toBe('string');
      expect(typeof event['sid']).toBe('string');
      expect(typeof event['sessions_ended']).toBe('number');
    }
    const lines = logs.lines();
    for (const secret of secrets) for (const line of lines) expect(line.includes(secret), `a log line contains a secret (${secret.slice(0, 6)}…)`).toBe(false);
  });
});
