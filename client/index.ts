/**
 * The client library (`kms-jwt-auth/client`): keeps an app signed in to a kms-jwt-auth service.
 * No runtime dependencies and no platform imports: only `fetch`, so it runs in browsers, React
 * Native and Node >= 22. docs/clients.md is the guide.
 *
 * - Refresh is single flight: however many calls find the access token expired at once, one
 *   `POST /refresh` is made and all of them wait for it. The service rotates refresh tokens
 *   (RFC 9700 §4.14.2), so two refreshes with the same token would be a race the client itself
 *   caused.
 * - The access token is refreshed `refreshAheadSeconds` before its `exp`, lazily, on the next call
 *   that needs it: no timer keeps a process or a phone awake.
 * - A request that the authorizer answers 401 is sent again once, after a refresh: API Gateway
 *   refused it before the backend saw it, so even a POST is safe to repeat.
 */
import {
  AuthClientError,
  InvalidCredentialsError,
  InvalidSecondFactorError,
  RequestRejectedError,
  SessionEndedError,
  type SessionEndedReason,
} from './errors.ts';
import { commonError, errorBody, readJson, send, stringMember, type Fetch } from './responses.ts';
import { accessTokenExpiry, accessTokenSid } from './jwt-expiry.ts';
import { parseSessionList, type SessionInfo } from './sessions.ts';
import type { TokenStorage } from './storage.ts';
import { memoryStorage } from './storage.ts';

export * from './errors.ts';
export { memoryStorage, type TokenStorage } from './storage.ts';
export type { SessionInfo } from './sessions.ts';

export interface AuthClientOptions {
  /** Where the service's routes are (`/login`, `/refresh`, …), e.g. `https://auth.example.com`. */
  readonly baseUrl: string;
  /** Where the tokens are kept (default: memory). Mobile apps pass a Keychain/Keystore adapter. */
  readonly storage?: TokenStorage;
  /**
   * Browsers: the service keeps the refresh token in an HttpOnly cookie that JavaScript never sees;
   * the access token lives in memory only. Needs COOKIE_MODE on the service and this page's origin
   * in its CORS_ORIGINS.
   */
  readonly cookieMode?: boolean;
  /** Refresh this many seconds before the access token's `exp` (default 60). */
  readonly refreshAheadSeconds?: number;
  /** The `fetch` to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /**
   * When set, refreshes are sent as a standard RFC 6749 §6 form with this `client_id`, which the
   * service checks against the session's client.
   */
  readonly clientId?: string;
  /** The clock, in milliseconds since the epoch (default `Date.now`); tests move it. */
  readonly now?: () => number;
  /** Prefix of the storage keys (default `kms-jwt-auth.`); letters, digits, `.`, `-`, `_` only. */
  readonly storageKeyPrefix?: string;
}

export interface LoginInput {
  readonly username: string;
  readonly password: string;
  /** Space-separated scopes to ask for (default: all the user holds). */
  readonly scope?: string;
}

/** `mfa_required`: the account has a second factor; the challenge is completed with `mfaToken`. */
export type LoginResult = { readonly status: 'signed_in' } | { readonly status: 'mfa_required'; readonly mfaToken: string };

/**
 * The second step of a login with MFA: the `mfaToken` from `login`, and either the 6-digit code the
 * user's authenticator app shows or one of the user's recovery codes.
 */
export type MfaInput = { readonly mfaToken: string; readonly otp: string } | { readonly mfaToken: string; readonly recoveryCode: string };

/**
 * The WebAuthn step of a passkey sign-in, supplied by the app so the library stays free of
 * dependencies: given the service's `PublicKeyCredentialRequestOptionsJSON`, answer the
 * credential's JSON, e.g. `(optionsJSON) => startAuthentication({ optionsJSON })` with
 * `@simplewebauthn/browser`, or `navigator.credentials.get()` and `toJSON()`.
 */
export type PasskeyAssertion = (optionsJSON: unknown) => Promise<unknown>;

export interface AuthClient {
  /** Signs in; throws InvalidCredentialsError, RateLimitedError, NetworkError, ServiceUnavailableError. */
  login(input: LoginInput): Promise<LoginResult>;
  /**
   * Completes a login that answered `mfa_required` and stores the session as `login` does. Throws
   * InvalidSecondFactorError (a wrong or already used code, or an mfa_token that is spent or
   * expired: after three wrong codes or five minutes, call `login` again), RateLimitedError,
   * NetworkError, ServiceUnavailableError.
   */
  completeMfa(input: MfaInput): Promise<void>;
  /**
   * Signs in with a passkey (no username or password): asks the service for a challenge, lets
   * `assert` run the WebAuthn ceremony, and sends the result. Throws InvalidCredentialsError when
   * the service refuses the passkey, and whatever `assert` throws (e.g. the user cancelled).
   */
  loginWithPasskey(assert: PasskeyAssertion, input?: { readonly scope?: string }): Promise<void>;
  /**
   * `fetch` with `Authorization: Bearer <access token>`, refreshed first when it is (about to be)
   * expired, and sent once more after a refresh when the authorizer answers 401. Send it only to
   * your own APIs behind the authorizer. Throws SessionEndedError when the session is over.
   */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** Refreshes now (single flight: concurrent calls share one request). */
  refresh(): Promise<void>;
  /** Ends this session at the service and forgets it here (the device token is kept). */
  logout(): Promise<void>;
  /** Ends every session of the user, on every device (`POST /logout-all`). */
  logoutEverywhere(): Promise<void>;
  /** The user's active sessions, on every device, this one marked `current` (`GET /sessions`). */
  listSessions(): Promise<SessionInfo[]>;
  /**
   * Ends one session of the user by its `sid` (`POST /sessions/revoke`), e.g. a lost phone's; its
   * access tokens stop at once. Ending the current one ends this client's session too.
   */
  endSessionById(sid: string): Promise<void>;
  /** Whether a session is held (in cookie mode, after a reload, this asks the service once). */
  isSignedIn(): Promise<boolean>;
  /** Called whenever the session ends, whatever ended it; returns the unsubscribe function. */
  onSessionEnded(listener: (reason: SessionEndedReason) => void): () => void;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

function requireOptions(options: AuthClientOptions): void {
  if (typeof options.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl)) {
    throw new TypeError('createAuthClient: baseUrl must be an http(s) URL.');
  }
  const ahead = options.refreshAheadSeconds;
  if (ahead !== undefined && !(Number.isFinite(ahead) && ahead >= 0)) {
    throw new TypeError('createAuthClient: refreshAheadSeconds must be a number of seconds >= 0.');
  }
  if (options.storageKeyPrefix !== undefined && !/^[A-Za-z0-9._-]*$/.test(options.storageKeyPrefix)) {
    throw new TypeError('createAuthClient: storageKeyPrefix may hold letters, digits, ".", "-" and "_" only.');
  }
}

/** A body that can be sent twice (a stream is consumed by the first attempt). */
function replayable(init: RequestInit | undefined): boolean {
  const body = init?.body;
  if (body === undefined || body === null) return true;
  return !(typeof ReadableStream !== 'undefined' && body instanceof ReadableStream);
}

function withBearer(init: RequestInit | undefined, token: string): RequestInit {
  const headers = new Headers(init?.headers);
  headers.set('authorization', `Bearer ${token}`);
  return { ...init, headers };
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  requireOptions(options);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const storage = options.storage ?? memoryStorage();
  const cookieMode = options.cookieMode === true;
  const refreshAheadSeconds = options.refreshAheadSeconds ?? 60;
  const now = options.now ?? (() => Date.now());
  const fetchImpl: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const prefix = options.storageKeyPrefix ?? 'kms-jwt-auth.';
  const keys = { access: `${prefix}access_token`, refresh: `${prefix}refresh_token`, device: `${prefix}device_token` } as const;
  // Cookie mode sends the cookies the service set; everywhere else no ambient credentials.
  const credentials: RequestInit = cookieMode ? { credentials: 'include' } : {};

  const listeners = new Set<(reason: SessionEndedReason) => void>();
  /** Bumped whenever the session is replaced or ended, so a refresh finishing late stores nothing. */
  let epoch = 0;
  /** The access token; in cookie mode it lives only here. Loaded from storage once, lazily. */
  let access: string | undefined;
  let accessLoaded = cookieMode;
  let refreshing: Promise<string> | undefined;

  const url = (path: string): string => `${baseUrl}${path}`;

  async function currentAccess(): Promise<string | undefined> {
    if (!accessLoaded) {
      const stored = await storage.get(keys.access);
      if (!accessLoaded) {
        access = stored;
        accessLoaded = true;
      }
    }
    return access;
  }

  /** Usable for at least `refreshAheadSeconds` more; a token without a readable `exp` is used until refused. */
  function fresh(token: string): boolean {
    const exp = accessTokenExpiry(token);
    return exp === undefined || exp - refreshAheadSeconds > now() / 1000;
  }

  function emit(reason: SessionEndedReason): void {
    for (const listener of [...listeners]) {
      try {
        listener(reason);
      } catch {
        // One listener's failure must neither stop the others nor turn into the caller's error.
      }
    }
  }

  /** Forgets the session here (never the device token: it is not a session) and tells the app. */
  async function endSession(reason: SessionEndedReason, tell = true): Promise<void> {
    epoch += 1;
    access = undefined;
    accessLoaded = true;
    if (!cookieMode) await Promise.all([storage.remove(keys.access), storage.remove(keys.refresh)]);
    if (tell) emit(reason);
  }

  async function storeTokens(body: unknown, status: number): Promise<string> {
    const accessToken = stringMember(body, 'access_token');
    const refreshToken = stringMember(body, 'refresh_token');
    if (accessToken === undefined || (!cookieMode && refreshToken === undefined)) {
      throw new RequestRejectedError(status, 'invalid_response', 'The token response does not carry the expected tokens.');
    }
    if (!cookieMode && refreshToken !== undefined) {
      // The refresh token first: the one that keeps the session is never older than its access token.
      await storage.set(keys.refresh, refreshToken);
      await storage.set(keys.access, accessToken);
    }
    access = accessToken;
    accessLoaded = true;
    return accessToken;
  }

  async function refreshRequest(): Promise<string> {
    const startedIn = epoch;
    let init: RequestInit;
    if (cookieMode) {
      // No body: the service reads the HttpOnly refresh cookie, which only the browser can send.
      init = { method: 'POST', ...credentials };
    } else {
      const refreshToken = await storage.get(keys.refresh);
      if (refreshToken === undefined) throw new SessionEndedError('not_signed_in', 'Not signed in.');
      init =
        options.clientId === undefined
          ? { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ refresh_token: refreshToken }) }
          : {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: options.clientId }).toString(),
            };
    }
    // A NetworkError leaves the stored refresh token in place: the next call presents it again,
    // which the service's grace period answers with the same successor.
    const response = await send(fetchImpl, url('/refresh'), init);
    if (epoch !== startedIn) {
      // Logged out or signed in again meanwhile: this answer belongs to a session that is gone.
      const current = await currentAccess();
      if (current === undefined) throw new SessionEndedError('not_signed_in', 'Not signed in.');
      return current;
    }
    if (response.ok) return storeTokens(await readJson(response), response.status);
    const body = await errorBody(response);
    const refused = response.status === 401 || response.status === 400 && body.error === 'invalid_grant';
    // Cookie mode: no refresh cookie reached the service (expired, cleared, never set).
    const noCookie = cookieMode && response.status === 400 && body.error === 'invalid_request';
    if (refused || noCookie) {
      const reason: SessionEndedReason = refused ? 'refresh_rejected' : 'not_signed_in';
      // A page that held no session (a reload without a cookie) has nothing to tell the app.
      await endSession(reason, refused || access !== undefined);
      throw new SessionEndedError(reason);
    }
    throw commonError(response, body, now());
  }

  /** Single flight: every caller during a refresh waits for the same request. */
  function refreshOnce(): Promise<string> {
    refreshing ??= refreshRequest().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  async function validAccess(): Promise<string> {
    const token = await currentAccess();
    if (token !== undefined && fresh(token)) return token;
    return refreshOnce();
  }

  async function authorizedFetch(input: string | URL, init?: RequestInit): Promise<Response> {
    const token = await validAccess();
    const response = await send(fetchImpl, input, withBearer(init, token));
    if (response.status !== 401 || !replayable(init)) return response;
    // The authorizer refused the token (revoked, or expired early by the clock): refresh, unless
    // another caller already replaced that token, and send the request once more.
    const next = access !== undefined && access !== token ? access : await refreshOnce();
    return send(fetchImpl, input, withBearer(init, next));
  }

  async function login(input: LoginInput): Promise<LoginResult> {
    const body: Record<string, string> = { username: input.username, password: input.password };
    if (input.scope !== undefined) body['scope'] = input.scope;
    if (cookieMode) {
      body['token_delivery'] = 'cookie';
    } else {
      // OWASP device cookies: a device that signed in before is not locked out by someone else's guessing.
      const device = await storage.get(keys.device);
      if (device !== undefined) body['device_token'] = device;
    }
    const response = await send(fetchImpl, url('/login'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body), ...credentials });
    if (response.ok) {
      await signedIn(response);
      return { status: 'signed_in' };
    }
    const error = await errorBody(response);
    if (response.status === 401) {
      const mfaToken = error.error === 'mfa_required' ? stringMember(error.raw, 'mfa_token') : undefined;
      if (mfaToken !== undefined) return { status: 'mfa_required', mfaToken };
      throw new InvalidCredentialsError();
    }
    throw commonError(response, error, now());
  }

  /** A token response of /login, /login/mfa or /login/passkey: the new session, and the device token to keep. */
  async function signedIn(response: Response): Promise<void> {
    const answer = await readJson(response);
    epoch += 1;
    await storeTokens(answer, response.status);
    const device = stringMember(answer, 'device_token');
    if (!cookieMode && device !== undefined) await storage.set(keys.device, device);
  }

  async function completeMfa(input: MfaInput): Promise<void> {
    const body: Record<string, string> = { mfa_token: input.mfaToken };
    if ('otp' in input) body['otp'] = input.otp;
    else body['recovery_code'] = input.recoveryCode;
    if (!cookieMode) {
      // The device token sent at the password step: the service trusts it again only if it is the same.
      const device = await storage.get(keys.device);
      if (device !== undefined) body['device_token'] = device;
    }
    const response = await send(fetchImpl, url('/login/mfa'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body), ...credentials });
    if (response.ok) return signedIn(response);
    const error = await errorBody(response);
    if (response.status === 401) throw new InvalidSecondFactorError(error.description);
    throw commonError(response, error, now());
  }

  async function loginWithPasskey(assert: PasskeyAssertion, input: { readonly scope?: string } = {}): Promise<void> {
    const challenge = await send(fetchImpl, url('/login/passkey/options'), { method: 'POST', ...credentials });
    if (!challenge.ok) throw commonError(challenge, await errorBody(challenge), now());
    const assertion = await assert(await readJson(challenge));
    const body: Record<string, unknown> = { response: assertion };
    if (input.scope !== undefined) body['scope'] = input.scope;
    if (cookieMode) body['token_delivery'] = 'cookie';
    const response = await send(fetchImpl, url('/login/passkey'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body), ...credentials });
    if (response.ok) return signedIn(response);
    const error = await errorBody(response);
    if (response.status === 401) throw new InvalidCredentialsError();
    throw commonError(response, error, now());
  }

  async function logout(): Promise<void> {
    // A refresh in flight would store a successor after the revoke; let it land, then revoke that.
    await refreshing?.catch(() => undefined);
    let response: Response | undefined;
    try {
      if (cookieMode) {
        response = await send(fetchImpl, url('/refresh/revoke'), { method: 'POST', ...credentials });
      } else {
        const refreshToken = await storage.get(keys.refresh);
        if (refreshToken !== undefined) {
          const body = JSON.stringify({ token: refreshToken, token_type_hint: 'refresh_token' });
          response = await send(fetchImpl, url('/revoke'), { method: 'POST', headers: JSON_HEADERS, body });
        }
      }
    } finally {
      // The session is forgotten here even when the service could not be told (the error says so).
      await endSession('logout');
    }
    if (response !== undefined && !response.ok) throw commonError(response, await errorBody(response), now());
  }

  async function logoutEverywhere(): Promise<void> {
    const response = await authorizedFetch(url('/logout-all'), { method: 'POST' });
    if (!response.ok) throw commonError(response, await errorBody(response), now());
    await endSession('logout_everywhere');
  }

  async function listSessions(): Promise<SessionInfo[]> {
    const response = await authorizedFetch(url('/sessions'));
    if (!response.ok) throw commonError(response, await errorBody(response), now());
    return parseSessionList(await readJson(response), response.status);
  }

  async function endSessionById(sid: string): Promise<void> {
    const token = await currentAccess();
    const current = token === undefined ? undefined : accessTokenSid(token);
    const response = await authorizedFetch(url('/sessions/revoke'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sid }) });
    if (!response.ok) throw commonError(response, await errorBody(response), now());
    if (sid === current) await endSession('logout');
  }

  async function isSignedIn(): Promise<boolean> {
    if (!cookieMode) return (await storage.get(keys.refresh)) !== undefined;
    if (access !== undefined) return true;
    try {
      await refreshOnce();
      return true;
    } catch (error) {
      if (error instanceof AuthClientError && error.code === 'session_ended') return false;
      throw error;
    }
  }

  return {
    login,
    completeMfa,
    loginWithPasskey,
    fetch: authorizedFetch,
    refresh: async () => {
      await refreshOnce();
    },
    logout,
    logoutEverywhere,
    listSessions,
    endSessionById,
    isSignedIn,
    onSessionEnded(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
