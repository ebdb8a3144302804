/**
 * Adding a sign-in method (a TOTP authenticator, a passkey) needs a recent sign-in: the account
 * function's own check on the `auth_time` the authorizer passes (core/recent-authentication.ts).
 * The handlers are those of the local service, over DynamoDB Local; the caller is given as API
 * Gateway gives it, in the authorizer context, once with a fresh and once with an old `auth_time`
 * (a session refreshed for an hour keeps the `auth_time` of its sign-in).
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../cli/operations.ts';
import { createDynamoDbClient } from '../../lambdas/adapters/runtime.ts';
import { SIGN_IN_METHOD_CHANGE_MAX_AGE_SECONDS } from '../../lambdas/core/recent-authentication.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { proxyEventV2 } from '../support/events.ts';
import { request } from '../support/http-client.ts';

const PASSWORD = 'a recent sign-in test passphrase';
let service: LocalService;

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD });
});

afterAll(async () => {
  await service?.stop();
});

/** A live session of a new user: the claims the authorizer would pass on. */
async function session(username: string): Promise<{ sub: string; sid: string; authTime: number }> {
  await ops.createUser(service.operatorDeps(), username, PASSWORD, ['read']);
  const reply = await request(service.url, 'POST', '/login', { json: { username, password: PASSWORD } });
  expect(reply.status).toBe(200);
  const claims = JSON.parse(Buffer.from(String(reply.body['access_token']).split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return { sub: String(claims['sub']), sid: String(claims['sid']), authTime: Number(claims['auth_time']) };
}

async function callAccount(routeKey: string, caller: { sub: string; sid: string }, authTime: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const context = { sub: caller.sub, sid: caller.sid, scope: 'read', amr: 'pwd', auth_time: String(authTime) };
  const event = proxyEventV2(routeKey, { json: {}, authorizerContext: context }) as unknown as APIGatewayProxyEventV2;
  const lambdaContext = { awsRequestId: 'test', functionName: 'account', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
  const result = (await service.handlers.account(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode ?? 0, body: JSON.parse(String(result.body)) as Record<string, unknown> };
}

async function userItems(sub: string): Promise<string[]> {
  const dynamo = createDynamoDbClient({ region: 'us-east-1', endpoint: service.dynamo.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const result = await dynamo.send(
    new QueryCommand({ TableName: service.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `SUB#${sub}` } }, ConsistentRead: true }),
  );
  dynamo.destroy();
  return (result.Items ?? []).map((item) => item['sk']?.S ?? '').filter((sk) => !sk.startsWith('FAMILY#'));
}

describe('adding a sign-in method needs a recent sign-in', () => {
  const stale = (authTime: number) => authTime - SIGN_IN_METHOD_CHANGE_MAX_AGE_SECONDS - 60;

  it.each(['POST /mfa/totp/enroll', 'POST /passkeys/register/options'])(
    '%s with a sign-in older than the limit is 403 insufficient_user_authentication and stores nothing; just after signing in it works',
    async (routeKey) => {
      const caller = await session(`recent-${routeKey.split('/')[1]}-${routeKey.length}`);
      const refused = await callAccount(routeKey, caller, stale(caller.authTime));
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: 'insufficient_user_authentication', error_description: expect.stringMatching(/max_age=600/) });
      expect(await userItems(caller.sub)).toEqual([]);
      const allowed = await callAccount(routeKey, caller, caller.authTime);
      expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
    },
  );
});
