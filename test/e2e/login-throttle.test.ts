/**
 * Login throttling over HTTP against the local service (the unchanged handlers behind the local
 * gateway, DynamoDB Local): real concurrent requests, from several loopback source addresses
 * (the gateway passes the socket's address as `requestContext.http.sourceIp`).
 */
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalService, type LocalService } from '../../local/service.ts';

const PASSWORD = 'throttle demo password, long enough';
let service: LocalService;

interface Reply {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: Record<string, unknown>;
}

/** POST /login from a chosen loopback source address (Linux routes all of 127.0.0.0/8 to lo). */
function loginFrom(sourceIp: string, body: Record<string, unknown>): Promise<Reply> {
  const url = new URL(service.url);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: '/login',
        method: 'POST',
        localAddress: sourceIp,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
            body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const wrong = (sourceIp: string, extra: Record<string, unknown> = {}) =>
  loginFrom(sourceIp, { username: 'demo', password: `wrong-${randomBytes(6).toString('hex')}`, ...extra });
const right = (sourceIp: string, extra: Record<string, unknown> = {}) => loginFrom(sourceIp, { username: 'demo', password: PASSWORD, ...extra });

function statuses(replies: readonly Reply[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const reply of replies) out[reply.status] = (out[reply.status] ?? 0) + 1;
  return out;
}

let client: DynamoDBClient | undefined;
const ddb = (): DynamoDBClient =>
  (client ??= new DynamoDBClient({ endpoint: service.dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
const USER_COUNTER = { pk: { S: 'RATE#USER#demo' }, sk: { S: 'RATE' } };

/**
 * The username-wide lock is 1 s at 20 attempts and doubles with each further one (refused attempts
 * do not count), up to 60 s: a guesser reaches the cap after about a minute of spaced guesses and
 * holds it with one guess a minute. Stand in for that: 30 attempts, the last one now (a 60 s lock),
 * renewed before each step that relies on it so that a slow machine cannot outlast it.
 */
async function holdUserWideLock(): Promise<void> {
  const now = Date.now();
  await ddb().send(
    new PutItemCommand({
      TableName: service.tableName,
      Item: {
        ...USER_COUNTER,
        attempts: { N: '30' },
        lastAttemptAt: { N: String(now) },
        windowEndsAt: { N: String(now + 15 * 60_000) },
        ttl: { N: String(Math.ceil(now / 1000) + 900) },
      },
    }),
  );
}

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD });
});

afterAll(async () => {
  client?.destroy();
  await service?.stop();
});

describe('login throttling under concurrency and device trust', () => {
  let trusted = '';
  let spare = '';

  it('issues a device token with a successful login (256 bits, base64url)', async () => {
    const first = await right('127.0.0.3');
    const second = await right('127.0.0.3');
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    trusted = String(first.body['device_token']);
    spare = String(second.body['device_token']);
    expect(trusted).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(spare).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(spare).not.toBe(trusted);
  });

  it('evaluates at most 5 of a burst of 40 concurrent wrong passwords from one address; the rest get 429 with Retry-After', async () => {
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 40 }, () => wrong('127.0.0.2')));
    const seconds = (Date.now() - started) / 1000;
    const counts = statuses(replies);
    expect(Object.keys(counts).sort()).toEqual(['401', '429']);
    // 5 guesses, then the lockout: 1 s after the 5th, one more guess, then 2 s, 4 s, … A burst that
    // lasts `seconds` (this machine runs 40 requests and 5 Argon2id hashes on 2 cores) can see
    // floor(log2(seconds + 1)) of those slots open; within the first second, none.
    const allowed = 5 + Math.floor(Math.log2(seconds + 1));
    expect(counts[401], `401s in a ${seconds.toFixed(2)} s burst`).toBeLessThanOrEqual(allowed);
    expect(counts[401]).toBeGreaterThanOrEqual(1);
    expect(counts[429]).toBe(40 - (counts[401] ?? 0));
    for (const reply of replies.filter((r) => r.status === 429)) {
      expect(reply.body['error']).toBe('too_many_requests');
      expect(reply.retryAfter).toMatch(/^[1-9]\d*$/);
    }
  });

  it('a burst from one address does not lock the user out from another address', async () => {
    expect((await right('127.0.0.10')).status).toBe(200);
  });

  it('a user-wide lock (over 20 failures from many addresses) refuses untrusted sources with 429', async () => {
    for (const ip of ['127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8']) {
      const replies = await Promise.all(Array.from({ length: 5 }, () => wrong(ip)));
      expect(replies.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    }
    const counted = Number((await ddb().send(new GetItemCommand({ TableName: service.tableName, Key: USER_COUNTER, ConsistentRead: true }))).Item?.['attempts']?.N);
    expect(counted).toBeGreaterThanOrEqual(20);
    await holdUserWideLock();
    const untrusted = await right('127.0.0.9');
    expect(untrusted.status).toBe(429);
    expect(untrusted.retryAfter).toMatch(/^[1-9]\d*$/);
  });

  it('a device that signed in before still signs in with the right password while the user-wide lock holds', async () => {
    await holdUserWideLock();
    const res = await right('127.0.0.9', { device_token: trusted });
    expect(res.status).toBe(200);
    expect(typeof res.body['access_token']).toBe('string');
    expect(res.body['device_token']).toBe(trusted);
    // From the address whose user+IP counter the burst filled, too.
    expect((await right('127.0.0.2', { device_token: trusted })).status).toBe(200);
    // The lock still holds for untrusted sources.
    expect((await right('127.0.0.9')).status).toBe(429);
  });

  it('an unknown or malformed device token is an untrusted source: 429, never an error about the token', async () => {
    await holdUserWideLock();
    for (const token of [randomBytes(32).toString('base64url'), 'not-a-device-token', `${trusted.slice(0, -1)}A`]) {
      if (token === trusted) continue;
      const res = await right('127.0.0.9', { device_token: token });
      expect(res.status).toBe(429);
      expect(res.body['error']).toBe('too_many_requests');
    }
  });

  it('a device token that fails 5 times is no longer trusted (OWASP: lock out the device cookie)', async () => {
    await holdUserWideLock();
    const replies = await Promise.all(Array.from({ length: 12 }, () => wrong('127.0.0.11', { device_token: spare })));
    // At most 5 guesses are evaluated on the device's own allowance; the rest fall back to the
    // untrusted limits, which the user-wide lock refuses.
    expect(replies.filter((r) => r.status === 401).length).toBeLessThanOrEqual(5);
    expect(replies.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(7);
    const after = await right('127.0.0.11', { device_token: spare });
    expect(after.status).toBe(429);
    // The other device is unaffected.
    expect((await right('127.0.0.11', { device_token: trusted })).status).toBe(200);
  });
});
