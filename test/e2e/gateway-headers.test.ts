/**
 * Headers as API Gateway (HTTP API, payload 2.0) handles them, locally and in the Lambdas' own
 * responses: repeated request headers reach the authorizer joined with commas ("Working with AWS
 * Lambda proxy integrations for HTTP APIs": duplicate headers are combined with commas), a header
 * whose value is `undefined` is dropped (the runtime serializes the response as JSON), and the
 * cacheable JWKS and discovery answers carry no `Pragma: no-cache` contradicting them.
 */
import { createConnection } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { createGateway, type RouteTarget } from '../../local/gateway.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { request } from '../support/http-client.ts';

const PASSWORD = 'a passphrase for the header tests';
let service: LocalService;
let accessToken: string;

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD });
  const res = await request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } });
  expect(res.status).toBe(200);
  accessToken = String(res.body['access_token']);
});

afterAll(async () => {
  await service?.stop();
});

/** One HTTP/1.1 request written byte for byte (so a header can repeat); resolves with the status. */
function rawStatus(path: string, headerLines: string[]): Promise<number> {
  const { port } = new URL(service.url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
    let text = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match !== null) {
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.once('error', reject);
    socket.write([`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...headerLines, 'Connection: close', '', ''].join('\r\n'));
  });
}

/** Every header of a response, values as sent. */
async function headersOf(path: string): Promise<Array<[string, string]>> {
  const res = await fetch(`${service.url}${path}`);
  await res.text();
  expect(res.status).toBe(200);
  return [...res.headers.entries()];
}

describe('repeated request headers', () => {
  it('a valid token alone is let in (the baseline for the cases below)', async () => {
    expect(await rawStatus('/whoami', [`Authorization: Bearer ${accessToken}`])).toBe(200);
  });

  it('two Authorization headers reach the authorizer joined with a comma and are refused, the valid one first', async () => {
    expect(await rawStatus('/whoami', [`Authorization: Bearer ${accessToken}`, 'Authorization: Bearer not-a-token'])).toBe(401);
  });

  it('two Authorization headers are refused with the valid one second', async () => {
    expect(await rawStatus('/whoami', ['Authorization: Bearer not-a-token', `Authorization: Bearer ${accessToken}`])).toBe(401);
  });
});

describe('response headers', () => {
  for (const path of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
    it(`${path} is cacheable and says nothing that contradicts it`, async () => {
      const headers = await headersOf(path);
      const names = headers.map(([name]) => name);
      expect(Object.fromEntries(headers)['cache-control']).toBe('public, max-age=300');
      expect(names).not.toContain('pragma');
    });

    it(`${path} carries no header whose value is "undefined" or empty`, async () => {
      const headers = await headersOf(path);
      expect(headers.filter(([, value]) => value === 'undefined' || value.trim() === '')).toEqual([]);
      expect(headers.map(([name]) => name)).not.toContain('x-powered-by');
      expect(headers.map(([name]) => name)).not.toContain('server');
    });
  }

  it('a token response still forbids caching (Cache-Control: no-store, Pragma: no-cache)', async () => {
    const res = await request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
  });
});

describe("the Lambdas' own responses (what API Gateway receives when deployed)", () => {
  const context = { awsRequestId: 'test', functionName: 'test', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
  const event = (routeKey: string, body?: string): APIGatewayProxyEventV2 =>
    ({
      version: '2.0',
      routeKey,
      rawPath: routeKey.split(' ')[1] ?? '/',
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      requestContext: { requestId: 'r', http: { method: routeKey.split(' ')[0], path: routeKey.split(' ')[1], sourceIp: '127.0.0.1' } },
      ...(body === undefined ? {} : { body }),
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;

  const cases: Array<[string, string, 'jwks' | 'login', string | undefined]> = [
    ['jwks', 'GET /.well-known/jwks.json', 'jwks', undefined],
    ['login (an error)', 'POST /login', 'login', '{'],
  ];
  for (const [name, routeKey, fn, body] of cases) {
    it(`${name}: every header has a non-empty string value`, async () => {
      const handler: unknown = service.handlers[fn];
      const result = (await (handler as (e: APIGatewayProxyEventV2, c: Context) => Promise<APIGatewayProxyStructuredResultV2>)(
        event(routeKey, body),
        context,
      ));
      const headers = Object.entries(result.headers ?? {});
      expect(headers.length).toBeGreaterThan(0);
      expect(headers.filter(([, value]) => typeof value !== 'string' || value.trim() === '')).toEqual([]);
    });
  }
});

describe('the local gateway on its own (any integration)', () => {
  it('passes repeated headers and query parameters joined with commas, and drops undefined response headers', async () => {
    let seen: APIGatewayProxyEventV2 | undefined;
    const echo: RouteTarget = async (event) => {
      seen = event;
      return { statusCode: 200, headers: { 'X-Kept': 'yes', 'X-Unset': undefined } as unknown as Record<string, string>, body: '{}' };
    };
    const server = createGateway({ routes: { 'GET /echo': { target: echo } }, authorizer: async () => ({ isAuthorized: false }) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const { port } = server.address() as AddressInfo;
      const status = await new Promise<{ status: number; head: string }>((resolve, reject) => {
        const socket = createConnection({ host: '127.0.0.1', port });
        let text = '';
        socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.once('end', () => resolve({ status: Number(text.slice(9, 12)), head: text.split('\r\n\r\n')[0] ?? '' }));
        socket.once('error', reject);
        socket.write(['GET /echo?a=1&a=2&b=3 HTTP/1.1', 'Host: x', 'X-Twice: one', 'X-Twice: two', 'Connection: close', '', ''].join('\r\n'));
      });
      expect(status.status).toBe(200);
      expect(seen?.headers['x-twice']).toBe('one,two');
      expect(seen?.queryStringParameters).toEqual({ a: '1,2', b: '3' });
      expect(status.head).toMatch(/^X-Kept: yes$/im);
      expect(status.head).not.toMatch(/X-Unset/i);
      expect(status.head).not.toMatch(/: undefined/i);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
