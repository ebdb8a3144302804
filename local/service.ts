/**
 * The whole service on one machine: DynamoDB Local, the KMS stand-in, the table and signing key,
 * the unchanged Lambda handlers behind the local gateway, and the demo user. Used by `npm start`
 * and by the end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.ts';
import { startKmsStandin, type KmsStandin } from './kms-standin/server.ts';
import { createGateway, type AuthorizerTarget, type CorsConfig, type Route, type RouteTarget } from './gateway.ts';
import { admin, whoami } from './sample-routes.ts';
import { PASSKEY_DEMO_PATH, PASSKEY_DEMO_SCRIPT_PATH, passkeyDemoPage, passkeyDemoScript } from './passkey-demo.ts';
import { createServiceTable } from './table.ts';
import { ACCOUNT_ROUTE_KEYS } from '../lambdas/account/routes.ts';
import { createAccountHandler } from '../lambdas/account/account-handler.ts';
import { parseAccountFunctionConfig } from '../lambdas/config/account.ts';
import { parseAuthorizerConfig } from '../lambdas/config/authorizer.ts';
import { parseIssuingFunctionConfig, parseLoginFunctionConfig, parseRevokeFunctionConfig } from '../lambdas/config/issuer.ts';
import { parseJwksFunctionConfig } from '../lambdas/config/jwks.ts';
import {
  createAccountRuntime,
  createAwsClients,
  createDynamoDbClient,
  createIssuerRuntime,
  createKmsClient,
  createLoginRuntime,
  createVerificationKeyRing,
} from '../lambdas/adapters/runtime.ts';
import { JWKS_RING_OPTIONS } from '../lambdas/adapters/kms/registry-key-ring.ts';
import { authorizerClientsFromEnv, createAuthorizerHandler, type AuthorizerHandler } from '../lambdas/authorizer/authorizer-handler.ts';
import { createJwksHandler } from '../lambdas/jwks/jwks-handler.ts';
import { createLoginHandler } from '../lambdas/login/login-handler.ts';
import { PASSKEY_LOGIN_ROUTE_KEYS } from '../lambdas/login/routes.ts';
import { createRefreshHandler } from '../lambdas/refresh/refresh-handler.ts';
import { createRevokeHandler } from '../lambdas/revoke/revoke-handler.ts';
import { createKeyOperatorDeps, createOperatorDeps } from '../cli/wiring.ts';
import type { KeyOperatorDeps } from '../cli/key-rotation.ts';
import { createUser, SERVICE_NAME } from '../cli/operations.ts';
import { checkNewPassword, describeViolation } from '../lambdas/core/password-policy.ts';
import type { OperatorDeps } from '../cli/operations.ts';
import { LOCAL_STATE_FILE, type LocalEndpoints } from '../cli/local-state.ts';

const LOCAL_TABLE = 'kms-jwt-auth-local';
const LOCAL_KEY_ALIAS = 'alias/kms-jwt-auth-local';
export const DEMO_USERNAME = 'demo';
export const DEMO_SCOPES = ['profile', 'read'] as const;

/**
 * The functions' settings a developer may set in the shell for `npm start` (README, cookie mode;
 * docs/deploy.md for the lifetimes). The rest (table, issuer, keys) belong to the local service.
 */
const SHELL_SETTINGS = [
  'COOKIE_MODE',
  'CORS_ORIGINS',
  'REFRESH_COOKIE_PATH',
  'REUSE_POLICY',
  'ACCESS_TOKEN_TTL_SECONDS',
  'REFRESH_TOKEN_TTL_SECONDS',
  'REFRESH_ABSOLUTE_TTL_SECONDS',
  'CLOCK_SKEW_SECONDS',
  'REFRESH_GRACE_SECONDS',
  'DENYLIST_CACHE_SECONDS',
  'PASSKEY_RP_ID',
  'PASSKEY_RP_NAME',
  'PASSKEY_ORIGINS',
] as const;

/** The settings for `LocalServiceOptions.env` that the shell sets, from `process.env` in `npm start`. */
export function shellSettings(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    SHELL_SETTINGS.flatMap((name) => {
      const value = env[name];
      return value === undefined ? [] : [[name, value]];
    }),
  );
}

export interface LocalServiceOptions {
  /** 0 = any free port. */
  readonly port: number;
  readonly host?: string;
  readonly demoPassword?: string;
  readonly signingAlg?: 'ES256' | 'RS256';
  /** Extra settings for the Lambdas, as their environment variables (e.g. COOKIE_MODE, REUSE_POLICY). */
  readonly env?: Readonly<Record<string, string>>;
  /** Lets tests put a counting or failing proxy between the Lambdas and DynamoDB Local. */
  readonly wrapDynamoEndpoint?: (endpoint: string) => string;
  /**
   * Where to write the endpoints file the admin CLI reads with --local (removed again by stop());
   * undefined: do not write.
   */
  readonly stateDir?: string;
}

export interface LocalService {
  readonly url: string;
  readonly port: number;
  readonly demoPassword: string;
  readonly demoPasswordGenerated: boolean;
  readonly dynamo: DynamoDbLocal;
  readonly kms: KmsStandin;
  readonly tableName: string;
  readonly signingKeyArn: string;
  /** The very handlers the gateway serves, built by their factories from the settings above. */
  readonly handlers: LocalHandlers;
  /** What the operator CLI runs on, against this service's table. */
  operatorDeps(): OperatorDeps;
  /** What `rotate-key` and `list-keys` run on, against this service's table and KMS stand-in. */
  keyOperatorDeps(): KeyOperatorDeps;
  stop(): Promise<void>;
}

export interface LocalHandlers {
  readonly login: RouteTarget;
  readonly refresh: RouteTarget;
  readonly revoke: RouteTarget;
  readonly jwks: RouteTarget;
  readonly authorizer: AuthorizerHandler;
  readonly account: RouteTarget;
}

/**
 * 120 random bits as 20 base64url characters: over the 15-character minimum, and (being random) on
 * no blocklist; drawn again in the unlikely case that it contains a context word.
 */
function generateDemoPassword(): string {
  for (;;) {
    const candidate = randomBytes(15).toString('base64url');
    if (checkNewPassword(candidate, { username: DEMO_USERNAME, serviceName: SERVICE_NAME, hasSecondFactor: false }) === undefined) return candidate;
  }
}

/** A failure to start that one sentence explains (port taken, no suitable Java): no stack needed. */
export class LocalStartError extends Error {
  override readonly name = 'LocalStartError';
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

/** Binds the gateway's port, turning the usual failures into one sentence that names PORT. */
async function listen(server: Server, port: number, host: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EADDRINUSE') {
      throw new LocalStartError(
        `Port ${port} on ${host} is already in use; stop what is using it, or choose another port with PORT (e.g. PORT=${port === 65_535 ? 3001 : port + 1} npm start).`,
      );
    }
    if (code === 'EACCES') {
      throw new LocalStartError(`Port ${port} on ${host} needs privileges this user lacks; choose another port with PORT (e.g. PORT=3000 npm start).`);
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new LocalStartError(`Cannot listen on ${host}: it is not an address of this machine; set HOST to one (e.g. HOST=127.0.0.1).`);
    }
    throw error;
  }
}

export async function startLocalService(options: LocalServiceOptions): Promise<LocalService> {
  const host = options.host ?? '127.0.0.1';
  const region = 'us-east-1';
  // A chosen demo password meets the same rules as any new password; refused before anything starts.
  const generated = options.demoPassword === undefined || options.demoPassword === '';
  const demoPassword = generated ? generateDemoPassword() : (options.demoPassword ?? '');
  const violation = checkNewPassword(demoPassword, { username: DEMO_USERNAME, serviceName: SERVICE_NAME, hasSecondFactor: false });
  if (violation !== undefined) {
    throw new LocalStartError(`DEMO_PASSWORD is refused (${violation}): ${describeViolation(violation, false)}`);
  }

  // The gateway binds its port first: a port in use is reported before a JVM is started, and the
  // issuer URL in the Lambdas' settings knows the real port. Until everything is ready
  // (tables, key, handlers, demo user, state file) it holds every request unanswered, so a client
  // that sees JWKS answer 200 can log in at once (SPEC: ready when JWKS answers 200).
  const routes: Record<string, Route> = {};
  let authorizer: AuthorizerTarget = async () => {
    throw new Error('Unauthorized');
  };
  let cors: CorsConfig | undefined;
  let openGate: () => void = () => undefined;
  let failGate: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    openGate = resolve;
    failGate = reject;
  });
  ready.catch(() => undefined); // held requests are dropped with their sockets
  const server = createGateway({
    routes,
    authorizer: (event, context) => authorizer(event, context),
    region,
    cors: () => cors,
    ready,
  });
  const closeServer = async (): Promise<void> => {
    if (!server.listening) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen(server, options.port, host);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  let dynamo: DynamoDbLocal | undefined;
  let kms: KmsStandin | undefined;
  let stateFile: string | undefined;
  const stopDependencies = async (): Promise<void> => {
    await Promise.allSettled([dynamo?.stop(), kms?.close()]);
  };

  try {
    const [dynamoStarted, kmsStarted] = await Promise.allSettled([startDynamoDbLocal(), startKmsStandin({ region })]);
    if (dynamoStarted.status === 'fulfilled') dynamo = dynamoStarted.value;
    if (kmsStarted.status === 'fulfilled') kms = kmsStarted.value;
    if (dynamoStarted.status === 'rejected') throw dynamoStarted.reason;
    if (kmsStarted.status === 'rejected') throw kmsStarted.reason;
    if (dynamo === undefined || kms === undefined) throw new Error('DynamoDB Local or the KMS stand-in did not start');

    const signingAlg = options.signingAlg ?? 'RS256';
    const key = await kms.createKey(signingAlg === 'RS256' ? 'RSA_2048' : 'ECC_NIST_P256', LOCAL_KEY_ALIAS);
    // The symmetric key that seals TOTP secrets, apart from the signing key (as the stack makes it).
    const mfaKey = await kms.createSymmetricKey('kms-jwt-auth-local TOTP secrets');

    // The services' AWS settings, given to the clients explicitly: nothing here touches the
    // process environment, so tests can run several services (or none) in one process.
    const aws = {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: options.wrapDynamoEndpoint?.(dynamo.endpoint) ?? dynamo.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
    };
    const credentials = { accessKeyId: aws.AWS_ACCESS_KEY_ID, secretAccessKey: aws.AWS_SECRET_ACCESS_KEY };
    const clients = {
      dynamo: createDynamoDbClient({ region, credentials, endpoint: aws.AWS_ENDPOINT_URL_DYNAMODB }),
      kms: createKmsClient({ region, credentials, endpoint: aws.AWS_ENDPOINT_URL_KMS }),
    } satisfies ReturnType<typeof createAwsClients>;
    // The functions' settings as the stack deploys them (lib/), parsed by the same parsers.
    const settings: Readonly<Record<string, string>> = {
      TABLE_NAME: LOCAL_TABLE,
      ISSUER: url,
      AUDIENCE: 'kms-jwt-auth-local',
      CLIENT_ID: 'local-client',
      SIGNING_ALG: signingAlg,
      SIGNING_KEY_ID: key.arn,
      VERIFY_KEY_IDS: key.arn,
      MFA_KEY_ID: mfaKey.arn,
      ROUTE_SCOPES: JSON.stringify({ 'GET /admin': ['admin'] }),
      AUTHORIZER_RESPONSE: 'simple',
      // WebAuthn refuses IP addresses as RP IDs (§5.1.3): passkeys work on http://localhost:<port>,
      // the one http origin browsers treat as a secure context.
      PASSKEY_RP_ID: 'localhost',
      PASSKEY_RP_NAME: 'kms-jwt-auth (local)',
      PASSKEY_ORIGINS: `http://localhost:${port}`,
      ...options.env,
    };
    const issuing = parseIssuingFunctionConfig(settings);
    const loginConfig = parseLoginFunctionConfig(settings);
    const revokeConfig = parseRevokeFunctionConfig(settings);
    const jwksConfig = parseJwksFunctionConfig(settings);
    const authorizerConfig = parseAuthorizerConfig(settings);
    const accountConfig = parseAccountFunctionConfig(settings);
    // CORS as the stack configures it (lib/, corsPreflight): only with CORS_ORIGINS.
    const cookieConfig = issuing.cookie;
    if (cookieConfig.allowedOrigins.length > 0) {
      cors = {
        allowOrigins: cookieConfig.allowedOrigins,
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type'],
        allowCredentials: cookieConfig.enabled,
        maxAgeSeconds: 3600,
      };
    }

    await createServiceTable(createDynamoDbClient({ region, credentials, endpoint: dynamo.endpoint }), LOCAL_TABLE);

    const issuerRuntime = createIssuerRuntime(issuing, clients);
    const target = (handler: unknown): RouteTarget => handler as RouteTarget;
    const handlers: LocalHandlers = {
      login: target(createLoginHandler(loginConfig, createLoginRuntime(loginConfig, clients))),
      refresh: target(createRefreshHandler(issuing, issuerRuntime)),
      revoke: target(
        createRevokeHandler(revokeConfig, {
          ...issuerRuntime,
          keySet: createVerificationKeyRing(revokeConfig.tableName, revokeConfig, clients).publishedKeySet(),
        }),
      ),
      jwks: target(
        createJwksHandler(jwksConfig, {
          keySet: createVerificationKeyRing(jwksConfig.tableName, jwksConfig, clients, JWKS_RING_OPTIONS).publishedKeySet(),
        }),
      ),
      authorizer: createAuthorizerHandler(authorizerConfig, authorizerClientsFromEnv(aws)),
      account: target(createAccountHandler(accountConfig, createAccountRuntime(accountConfig, clients))),
    };
    authorizer = handlers.authorizer as AuthorizerTarget;
    Object.assign(routes, {
      'POST /login': { target: handlers.login },
      'POST /login/mfa': { target: handlers.login },
      ...Object.fromEntries(PASSKEY_LOGIN_ROUTE_KEYS.map((key) => [key, { target: handlers.login }])),
      'POST /refresh': { target: handlers.refresh },
      'POST /revoke': { target: handlers.revoke },
      'POST /refresh/revoke': { target: handlers.revoke },
      'POST /logout-all': { target: handlers.revoke, protected: true },
      'GET /sessions': { target: handlers.revoke, protected: true },
      'POST /sessions/revoke': { target: handlers.revoke, protected: true },
      'GET /.well-known/jwks.json': { target: handlers.jwks },
      'GET /.well-known/openid-configuration': { target: handlers.jwks },
      'GET /whoami': { target: whoami, protected: true },
      'GET /admin': { target: admin, protected: true },
      [`GET ${PASSKEY_DEMO_PATH}`]: { target: passkeyDemoPage },
      [`GET ${PASSKEY_DEMO_SCRIPT_PATH}`]: { target: passkeyDemoScript },
      ...Object.fromEntries(ACCOUNT_ROUTE_KEYS.map((key) => [key, { target: handlers.account, protected: true }])),
    } satisfies Record<string, Route>);
    const operatorDeps = (): OperatorDeps => createOperatorDeps(settings, clients.dynamo);

    await createUser(operatorDeps(), DEMO_USERNAME, demoPassword, [...DEMO_SCOPES]);

    if (options.stateDir !== undefined) {
      await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
      const endpoints: LocalEndpoints = {
        pid: process.pid,
        tableName: LOCAL_TABLE,
        dynamodbEndpoint: dynamo.endpoint,
        kmsEndpoint: kms.endpoint,
        region,
        signingKeyArn: key.arn,
      };
      stateFile = join(options.stateDir, LOCAL_STATE_FILE);
      await writeFile(stateFile, JSON.stringify(endpoints, null, 2), { mode: 0o600 });
    }

    openGate();
    const started = { dynamo, kms };
    return {
      url,
      port,
      demoPassword,
      demoPasswordGenerated: generated,
      dynamo: started.dynamo,
      kms: started.kms,
      tableName: LOCAL_TABLE,
      signingKeyArn: key.arn,
      handlers,
      operatorDeps,
      keyOperatorDeps: () => createKeyOperatorDeps(settings, clients.dynamo, clients.kms),
      stop: async () => {
        await removeStateFile(stateFile);
        await closeServer();
        await stopDependencies();
      },
    };
  } catch (error) {
    failGate(new Error('the local service failed to start'));
    await removeStateFile(stateFile);
    await closeServer();
    await stopDependencies();
    throw error;
  }
}

/** Removes the state file if it still names this process (another `npm start` may have replaced it). */
async function removeStateFile(file: string | undefined): Promise<void> {
  if (file === undefined) return;
  try {
    const recorded: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof recorded === 'object' && recorded !== null && 'pid' in recorded && recorded.pid === process.pid) await rm(file, { force: true });
  } catch {
    // Gone already, or not ours to remove.
  }
}
