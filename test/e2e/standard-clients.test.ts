/**
 * Standard OAuth 2.0 clients against the local service: openid-client (an independent, widely used
 * client) discovers the service, refreshes with the refresh-token grant (RFC 6749 §6, a form-encoded
 * request) and revokes (RFC 7009). Plus the form-encoded requests' error contract: RFC 6749 §5.2
 * error bodies, `Cache-Control: no-store`, and nothing changed by a request that is refused.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request, type Reply } from '../support/http-client.ts';

const PASSWORD = 'standard clients demo password';
/** The local service's client id (local/service.ts). */
const CLIENT_ID = 'local-client';
let service: LocalService;
let dynamo: CountingProxy;
let counted: CountedService | undefined;

const login = async (): Promise<Record<string, unknown>> => {
  const res = await request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } });
  expect(res.status).toBe(200);
  return res.body;
};
const whoami = (token: unknown) => request(service.url, 'GET', '/whoami', { headers: { authorization: `Bearer ${String(token)}` } });
const refreshJson = (token: unknown) => request(service.url, 'POST', '/refresh', { json: { refresh_token: token } });
const form = (path: string, text: string, contentType = 'application/x-www-form-urlencoded') =>
  request(service.url, 'POST', path, { raw: text, headers: { 'content-type': contentType } });

/** openid-client, configured from the service's discovery document; http:// is allowed for this test only. */
const discover = (): Promise<client.Configuration> =>
  client.discovery(new URL(service.url), CLIENT_ID, undefined, client.None(), { execute: [client.allowInsecureRequests] });

function expectOAuthError(res: Reply, status: number, error: string): void {
  expect(res.status, JSON.stringify(res.body).slice(0, 160)).toBe(status);
  expect(res.body).toEqual({ error, error_description: expect.any(String) });
  expect(res.headers.get('cache-control')).toBe('no-store');
}

beforeAll(async () => {
  counted = await startCountedService({ demoPassword: PASSWORD });
  ({ service, dynamo } = counted);
});

afterAll(async () => {
  await counted?.stop();
});

beforeEach(() => {
  dynamo.reset();
  service.kms.resetCalls();
});

describe('openid-client', () => {
  it('discovers the refresh token endpoint, the revocation endpoint and public-client authentication', async () => {
    const config = await discover();
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(service.url);
    expect(metadata.token_endpoint).toBe(`${service.url}/refresh`);
    expect(metadata.revocation_endpoint).toBe(`${service.url}/revoke`);
    expect(metadata.jwks_uri).toBe(`${service.url}/.well-known/jwks.json`);
    expect(metadata.grant_types_supported).toEqual(['refresh_token']);
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(['none']);
    expect(metadata.revocation_endpoint_auth_methods_supported).toEqual(['none']);
  });

  it('refreshes with the refresh-token grant and gets a rotated refresh token and a working access token', async () => {
    const config = await discover();
    const first = await login();
    const tokens = await client.refreshTokenGrant(config, String(first['refresh_token']));
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{80,}$/);
    expect(tokens.refresh_token).not.toBe(first['refresh_token']);
    expect(tokens.expiresIn()).toBeGreaterThan(0);
    expect((await whoami(tokens.access_token)).status).toBe(200);
    // The new refresh token works again through the same client.
    const again = await client.refreshTokenGrant(config, String(tokens.refresh_token));
    expect((await whoami(again.access_token)).status).toBe(200);
  });

  it('sees an unusable refresh token as an RFC 6749 §5.2 invalid_grant error', async () => {
    const config = await discover();
    const error = await client.refreshTokenGrant(config, 'not-a-refresh-token').then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(client.ResponseBodyError);
    expect((error as client.ResponseBodyError).error).toBe('invalid_grant');
  });

  it('revokes a refresh token: the whole session ends, its access token stops at once', async () => {
    const config = await discover();
    const tokens = await login();
    await client.tokenRevocation(config, String(tokens['refresh_token']), { token_type_hint: 'refresh_token' });
    expect((await refreshJson(tokens['refresh_token'])).status).toBe(401);
    expect((await whoami(tokens['access_token'])).status).toBe(401);
  });

  it('revokes an access token: that token stops, the session goes on', async () => {
    const config = await discover();
    const tokens = await login();
    await client.tokenRevocation(config, String(tokens['access_token']));
    expect((await whoami(tokens['access_token'])).status).toBe(401);
    expect((await refreshJson(tokens['refresh_token'])).status).toBe(200);
  });
});

describe('form-encoded /refresh (RFC 6749 §6)', () => {
  it('answers a token response, never cached, with or without the matching client_id', async () => {
    for (const extra of ['', `&client_id=${CLIENT_ID}`]) {
      const tokens = await login();
      const res = await form('/refresh', `grant_type=refresh_token&refresh_token=${encodeURIComponent(String(tokens['refresh_token']))}${extra}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
    }
  });

  it('accepts a charset parameter on the content type', async () => {
    const tokens = await login();
    const res = await form('/refresh', `grant_type=refresh_token&refresh_token=${String(tokens['refresh_token'])}`, 'application/x-www-form-urlencoded;charset=UTF-8');
    expect(res.status).toBe(200);
  });

  it('refuses a client_id other than the one the token was issued to with invalid_grant, changing nothing', async () => {
    const tokens = await login();
    dynamo.reset();
    service.kms.resetCalls();
    expectOAuthError(await form('/refresh', `grant_type=refresh_token&refresh_token=${String(tokens['refresh_token'])}&client_id=someone-else`), 401, 'invalid_grant');
    expect(dynamo.total()).toBe(0);
    expect(service.kms.calls()).toEqual({});
    expect((await refreshJson(tokens['refresh_token'])).status).toBe(200);
  });

  it('refuses another grant type with unsupported_grant_type, and a missing one with invalid_request (RFC 6749 §5.2)', async () => {
    const tokens = await login();
    const token = String(tokens['refresh_token']);
    dynamo.reset();
    expectOAuthError(await form('/refresh', `grant_type=password&username=demo&password=${encodeURIComponent(PASSWORD)}`), 400, 'unsupported_grant_type');
    expectOAuthError(await form('/refresh', `grant_type=authorization_code&refresh_token=${token}`), 400, 'unsupported_grant_type');
    expectOAuthError(await form('/refresh', `refresh_token=${token}`), 400, 'invalid_request');
    expectOAuthError(await form('/refresh', 'grant_type=refresh_token'), 400, 'invalid_request');
    expect(dynamo.total()).toBe(0);
    expect((await refreshJson(token)).status).toBe(200);
  });

  it('also takes grant_type and client_id in a JSON body, with the same rules', async () => {
    const tokens = await login();
    const token = tokens['refresh_token'];
    expectOAuthError(await request(service.url, 'POST', '/refresh', { json: { grant_type: 'password', refresh_token: token } }), 400, 'unsupported_grant_type');
    expectOAuthError(await request(service.url, 'POST', '/refresh', { json: { refresh_token: token, client_id: 'someone-else' } }), 401, 'invalid_grant');
    const res = await request(service.url, 'POST', '/refresh', { json: { grant_type: 'refresh_token', refresh_token: token, client_id: CLIENT_ID } });
    expect(res.status).toBe(200);
  });

  it('refuses a body that is neither JSON nor a form with 400 invalid_request', async () => {
    const tokens = await login();
    const text = `grant_type=refresh_token&refresh_token=${String(tokens['refresh_token'])}`;
    for (const contentType of ['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencodedx']) {
      expectOAuthError(await form('/refresh', text, contentType), 400, 'invalid_request');
    }
    expect((await refreshJson(tokens['refresh_token'])).status).toBe(200);
  });
});

describe('form-encoded /revoke (RFC 7009 §2.1)', () => {
  it('revokes with token, token_type_hint and the matching client_id', async () => {
    const tokens = await login();
    const res = await form('/revoke', `token=${String(tokens['refresh_token'])}&token_type_hint=refresh_token&client_id=${CLIENT_ID}`);
    expect(res.status).toBe(200);
    expect((await refreshJson(tokens['refresh_token'])).status).toBe(401);
  });

  it('refuses a client_id other than the service client, a missing token and a bad hint, changing nothing', async () => {
    const tokens = await login();
    dynamo.reset();
    expectOAuthError(await form('/revoke', `token=${String(tokens['refresh_token'])}&client_id=someone-else`), 401, 'invalid_grant');
    expectOAuthError(await form('/revoke', 'token_type_hint=refresh_token'), 400, 'invalid_request');
    expectOAuthError(await form('/revoke', `token=${String(tokens['refresh_token'])}&token_type_hint=bogus`), 400, 'invalid_request');
    expect(dynamo.total()).toBe(0);
    expect((await refreshJson(tokens['refresh_token'])).status).toBe(200);
  });
});
