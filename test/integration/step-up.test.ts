/**
 * Step-up at the authorizer, end to end on the local service (DynamoDB Local, the KMS stand-in,
 * the local API Gateway stand-in): a route that requires MFA or a recent authentication answers
 * 403 to a token without it, and 200 with the authorizer context to one that has it. Tokens come
 * from `POST /login` and, for the methods login cannot give yet, are signed by the stand-in's KMS
 * `Sign` with the service's own signing key, as the issuer signs them.
 */
import { randomUUID } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verificationKeyFromSpki } from '../../lambdas/core/verification-key.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';

let service: LocalService;
let kms: KMSClient;
let kid: string;

const ROUTES = {
  'GET /admin': ['admin'],
  'GET /whoami': { mfa: true, maxAuthAgeSeconds: 300 },
};

beforeAll(async () => {
  service = await startLocalService({ port: 0, env: { ROUTE_SCOPES: JSON.stringify(ROUTES) } });
  kms = new KMSClient({ endpoint: service.kms.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const pub = await kms.send(new GetPublicKeyCommand({ KeyId: service.signingKeyArn }));
  if (pub.PublicKey === undefined) throw new Error('no public key');
  kid = verificationKeyFromSpki(pub.PublicKey).kid;
}, 180_000);

afterAll(async () => {
  await service?.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: string | Uint8Array) => Buffer.from(value).toString('base64url');

/** An access token as the issuer makes it (RS256 by KMS Sign), with the given claims. */
async function mint(claims: Record<string, unknown>): Promise<string> {
  const t = now();
  const header = b64(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid }));
  const payload = b64(
    JSON.stringify({
      iss: service.url,
      sub: 'u-step-up',
      aud: 'kms-jwt-auth-local',
      exp: t + 600,
      iat: t,
      jti: randomUUID(),
      client_id: 'local-client',
      scope: 'profile',
      sid: randomUUID(),
      auth_time: t - 5,
      ...claims,
    }),
  );
  const signed = await kms.send(
    new SignCommand({ KeyId: service.signingKeyArn, Message: Buffer.from(`${header}.${payload}`), MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }),
  );
  if (signed.Signature === undefined) throw new Error('no signature');
  return `${header}.${payload}.${b64(signed.Signature)}`;
}

async function get(path: string, token: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** The decision behind an answer, from the service's own authorizer (the HTTP API says only 403). */
async function decide(path: string, token: string): Promise<unknown> {
  return service.handlers.authorizer.decide({
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:us-east-1:000000000000:local/$default/GET${path}`,
    identitySource: [`Bearer ${token}`],
    routeKey: `GET ${path}`,
    headers: { authorization: `Bearer ${token}` },
    stageVariables: {},
  });
}

describe('step-up on the local service', () => {
  it('answers 403 insufficient_user_authentication to the demo user\'s password-only token on an MFA route', async () => {
    const login = await fetch(`${service.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password: service.demoPassword }),
    });
    expect(login.status).toBe(200);
    const { access_token: token } = (await login.json()) as { access_token: string };
    expect(await get('/whoami', token)).toEqual({ status: 403, body: { message: 'Forbidden' } });
    expect(await decide('/whoami', token)).toMatchObject({
      status: 403,
      error: 'insufficient_user_authentication',
      description: 'requires multi-factor authentication and an authentication within the last 300 seconds',
      maxAge: 300,
    });
  });

  it('lets a token whose amr says mfa through, with amr and auth_time in the context', async () => {
    const authTime = now() - 30;
    const token = await mint({ amr: ['pwd', 'otp', 'mfa'], auth_time: authTime });
    expect(await decide('/whoami', token)).toMatchObject({ effect: 'allow', context: { amr: 'pwd otp mfa', auth_time: String(authTime) } });
    expect((await get('/whoami', token)).status).toBe(200);
  });

  it('answers 403 to an MFA token whose authentication is older than the route allows', async () => {
    const token = await mint({ amr: ['pwd', 'otp', 'mfa'], auth_time: now() - 400 });
    expect((await get('/whoami', token)).status).toBe(403);
    expect(await decide('/whoami', token)).toMatchObject({ error: 'insufficient_user_authentication' });
  });

  it('answers 403 to a token whose methods name a second factor but not mfa', async () => {
    const token = await mint({ amr: ['otp'] });
    expect((await get('/whoami', token)).status).toBe(403);
  });

  it('answers 401 to a token with a malformed amr, signed by the right key', async () => {
    const token = await mint({ amr: 'mfa' });
    expect((await get('/whoami', token)).status).toBe(401);
  });

  it('keeps the array form of ROUTE_SCOPES working beside the new one', async () => {
    const token = await mint({ amr: ['mfa'], scope: 'profile' });
    expect(await decide('/admin', token)).toMatchObject({ status: 403, error: 'insufficient_scope' });
    expect((await get('/admin', await mint({ scope: 'admin' }))).status).toBe(200);
  });
});
