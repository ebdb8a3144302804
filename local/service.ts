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
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.ts';
import { startKmsStandin, type KmsStandin } from './kms-standin/server.ts';
import { createGateway, type AuthorizerTarget, type CorsConfig, type Route, type RouteTarget } from './gateway.ts';
import { admin, whoami } from './sample-routes.ts';
import { createServiceTable } from './table.ts';
import { parseCookieConfig } from '../lambdas/http/cookie-mode.ts';
import { LOCAL_STATE_FILE, type LocalEndpoints } from '../cli/local-state.ts';

const LOCAL_TABLE = 'kms-jwt-auth-local';
const LOCAL_KEY_ALIAS = 'alias/kms-jwt-auth-local';
export const DEMO_USERNAME = 'demo';
export const DEMO_SCOPES = ['profile', 'read'] as const;

interface LocalServiceOptions {
  /** 0 = any free port. */
  readonly port: number;
  readonly host?: string;
  readonly demoPassword?: string;
  readonly signingAlg?: 'ES256' | 'RS256';
  /** Extra environment for the Lambdas (e.g. COOKIE_MODE, REUSE_POLICY). */
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
  stop(): Promise<void>;
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

  // The gateway binds its port first: a port in use is reported before a JVM is started, and the
  // issuer URL (which the Lambdas read at import) knows the real port. Until everything is ready
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

    Object.assign(process.env, {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: options.wrapDynamoEndpoint?.(dynamo.endpoint) ?? dynamo.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      TABLE_NAME: LOCAL_TABLE,
      ISSUER: url,
      AUDIENCE: 'kms-jwt-auth-local',
      CLIENT_ID: 'local-client',
      SIGNING_ALG: signingAlg,
      SIGNING_KEY_ID: key.arn,
      VERIFY_KEY_IDS: key.arn,
      ROUTE_SCOPES: JSON.stringify({ 'GET /admin': ['admin'] }),
      AUTHORIZER_RESPONSE: 'simple',
      POWERTOOLS_SERVICE_NAME: 'kms-jwt-auth-local',
      ...options.env,
    });
    // CORS as the stack configures it (lib/kms-jwt-auth.ts, corsPreflight): only with CORS_ORIGINS.
    const cookieConfig = parseCookieConfig(process.env);
    if (cookieConfig.allowedOrigins.length > 0) {
      cors = {
        allowOrigins: cookieConfig.allowedOrigins,
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type'],
        allowCredentials: cookieConfig.enabled,
        maxAgeSeconds: 3600,
      };
    }
    delete process.env['AWS_SESSION_TOKEN'];
    delete process.env['AWS_PROFILE'];

    await createServiceTable(new DynamoDBClient({ endpoint: dynamo.endpoint, region }), LOCAL_TABLE);

    // Imported only now: each handler reads its environment once, at module scope, like a cold start.
    const [login, refresh, revoke, jwks, authorizerModule] = await Promise.all([
      import('../lambdas/login/handler.ts'),
      import('../lambdas/refresh/handler.ts'),
      import('../lambdas/revoke/handler.ts'),
      import('../lambdas/jwks/handler.ts'),
      import('../lambdas/authorizer/handler.ts'),
    ]);
    authorizer = authorizerModule.handler as AuthorizerTarget;
    const target = (handler: unknown): RouteTarget => handler as RouteTarget;
    Object.assign(routes, {
      'POST /login': { target: target(login.handler) },
      'POST /refresh': { target: target(refresh.handler) },
      'POST /revoke': { target: target(revoke.handler) },
      'POST /refresh/revoke': { target: target(revoke.handler) },
      'POST /logout-all': { target: target(revoke.handler), protected: true },
      'GET /.well-known/jwks.json': { target: target(jwks.handler) },
      'GET /.well-known/openid-configuration': { target: target(jwks.handler) },
      'GET /whoami': { target: whoami, protected: true },
      'GET /admin': { target: admin, protected: true },
    } satisfies Record<string, Route>);

    const generated = options.demoPassword === undefined || options.demoPassword === '';
    const demoPassword = generated ? randomBytes(15).toString('base64url') : (options.demoPassword ?? '');
    const { createOperatorDeps } = await import('../cli/wiring.ts');
    const { createUser } = await import('../cli/operations.ts');
    await createUser(createOperatorDeps(process.env), DEMO_USERNAME, demoPassword, [...DEMO_SCOPES]);

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
