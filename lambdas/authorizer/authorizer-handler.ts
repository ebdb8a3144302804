/**
 * API Gateway Lambda authorizer for access tokens (RFC 9068 JWTs signed by KMS).
 *
 * Answers three event formats with one decision:
 *  - REST API `TOKEN` and `REQUEST` events, and HTTP API payload 1.0 → IAM policy;
 *  - HTTP API payload 2.0 → simple response `{isAuthorized, context}` (default) or an IAM policy
 *    when `AUTHORIZER_RESPONSE=iam`.
 *
 * How each decision reaches the client (API Gateway only lets an authorizer say allow, deny or
 * "Unauthorized"):
 *  | decision                         | REST / HTTP IAM                          | HTTP simple            |
 *  |----------------------------------|------------------------------------------|------------------------|
 *  | allow                            | policy: Allow stage/* (+ Deny rules the token lacks scopes for) | isAuthorized: true |
 *  | 403 insufficient_scope           | same policy; this route hits a Deny → 403 | isAuthorized: false → 403 |
 *  | 401 invalid_token                | throw Error('Unauthorized') → 401        | throw Error('Unauthorized') → 401 |
 *  | 503 dependency down (fail closed)| throw Error('AuthorizerDependencyUnavailable') → API Gateway 500 | same |
 * A thrown error is never cached by API Gateway, so an outage is not remembered as a denial.
 *
 * `decide(event)` gives the same decision as data, for the local gateway to mirror API Gateway:
 *   decide(event: unknown): Promise<
 *       { effect: 'allow', context: { sub, scope, sid, jti, client_id, amr, auth_time } }
 *     | { effect: 'deny', status: 401, error: 'invalid_token', description }
 *     | { effect: 'deny', status: 403, error: 'insufficient_scope', description, context }
 *     | { effect: 'deny', status: 403, error: 'insufficient_user_authentication', description, maxAge, context }
 *     | { effect: 'deny', status: 503, error: 'temporarily_unavailable', description }>
 * It never throws for bad input; `description` is safe to show (no token, no key).
 *
 * Caching (authorizer result TTL) and revocation: a cached Allow outlives a revocation for up to
 * the TTL, because API Gateway does not call us again. The policy itself stays correct across
 * routes (see `Authorizer.policyFor`), but revocation "at once" (SECURITY.md) holds only with the
 * TTL at 0, or within TTL seconds otherwise. With simple responses the cached answer is one
 * boolean for every route sharing the identity source: with route requirements, either use IAM
 * responses, add `$context.routeKey` to the identity sources, or keep the TTL at 0.
 * docs/authorizer.md has the full discussion.
 *
 * Environment (parsed once per container by lambdas/config/authorizer.ts): TABLE_NAME, ISSUER,
 * AUDIENCE, SIGNING_ALG, VERIFY_KEY_IDS and/or PUBLIC_JWKS, ROUTE_SCOPES, AUTHORIZER_RESPONSE,
 * DENYLIST_CACHE_SECONDS, CLOCK_SKEW_SECONDS, AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB/KMS.
 */
import type { APIGatewayAuthorizerResult, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import type { AuthorizerConfig } from '../config/authorizer.ts';
import { awsJsonClientFromEnv, type AwsJsonClient } from '../adapters/aws/aws-json-client.ts';
import { CachedDenylistReader, DynamoDbDenylistReader } from '../adapters/dynamodb/denylist-reader.ts';
import type { AuthorizerMetrics, AuthorizerOutcome, DenylistReader, VerificationKeyRing } from '../core/ports.ts';
import { createAuthorizerMetrics, emfSettingsFromEnv } from '../adapters/aws/emf-metrics.ts';
import { DEFAULT_METRICS_NAMESPACE } from '../adapters/aws/metric-names.ts';
import { PublicKeyRing, sigV4GetPublicKey, StaticJwksSource } from '../adapters/kms/public-key-source.ts';
import { SigV4KeyRegistryReader } from '../adapters/dynamodb/key-registry-reader.ts';
import { RegistryKeyRing, VERIFIER_RING_OPTIONS, type RegistryKeyRingOptions } from '../adapters/kms/registry-key-ring.ts';
import { Authorizer } from './authorizer.ts';
import type { AuthorizerContext, AuthorizerDecision, Evaluation } from './authorizer.ts';

export type { AuthorizerContext, AuthorizerDecision } from './authorizer.ts';
export { Authorizer } from './authorizer.ts';

export type AuthorizerResponse =
  | APIGatewayAuthorizerResult
  | APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>>;

/** The SigV4 clients the authorizer talks to AWS with (production: `awsJsonClientFromEnv`). */
export interface AuthorizerClients {
  readonly dynamodb: AwsJsonClient;
  readonly kms: AwsJsonClient;
}

/** Clients for the standard AWS settings of an environment: region, credentials, endpoints. */
export function authorizerClientsFromEnv(env: Readonly<Record<string, string | undefined>>): AuthorizerClients {
  return { dynamodb: awsJsonClientFromEnv('dynamodb', env), kms: awsJsonClientFromEnv('kms', env) };
}

/**
 * Keys from PUBLIC_JWKS, or from the key registry (else VERIFY_KEY_IDS) and KMS; denylist from
 * DynamoDB; all over SigV4. `ringOptions`: how often the registry is re-read (tests shorten it).
 */
export function createAuthorizer(
  config: AuthorizerConfig,
  clients: AuthorizerClients,
  ringOptions: RegistryKeyRingOptions = VERIFIER_RING_OPTIONS,
): Authorizer {
  let denylist: DenylistReader = new DynamoDbDenylistReader(clients.dynamodb, config.tableName);
  if (config.denylistCacheSeconds > 0) denylist = new CachedDenylistReader(denylist, config.denylistCacheSeconds * 1000);
  const keyRing: VerificationKeyRing =
    config.publicJwks !== undefined
      ? new PublicKeyRing(new StaticJwksSource(config.publicJwks))
      : new RegistryKeyRing(
          new SigV4KeyRegistryReader(clients.dynamodb, config.tableName),
          sigV4GetPublicKey(clients.kms),
          config,
          ringOptions,
        );
  // Start loading keys now (cold start), not on the first request's critical path.
  keyRing.current().catch(() => undefined);
  return new Authorizer({
    config,
    keyRing,
    denylist,
    nowSeconds: () => Math.floor(Date.now() / 1000),
    log: (entry) => console.log(JSON.stringify({ level: 'INFO', ...entry })),
  });
}

export interface AuthorizerHandler {
  /** The Lambda entry point. */
  (event: unknown): Promise<AuthorizerResponse>;
  /** The decision as data (see the header comment), for the local gateway. */
  readonly decide: (event: unknown) => Promise<AuthorizerDecision>;
}

/**
 * The Lambda handler for parsed settings and its clients (production: ./handler.ts). `metrics`:
 * by default EMF lines on stdout, switched by the Powertools variables of the environment
 * (`adapters/aws/emf-metrics.ts`); `ringOptions`: how the key registry is re-read.
 */
export function createAuthorizerHandler(
  config: AuthorizerConfig,
  clients: AuthorizerClients,
  options: { readonly metrics?: AuthorizerMetrics; readonly ringOptions?: RegistryKeyRingOptions } = {},
): AuthorizerHandler {
  const authorizer = createAuthorizer(config, clients, options.ringOptions ?? VERIFIER_RING_OPTIONS);
  const counted = options.metrics ?? defaultAuthorizerMetrics();
  // One decision, counted with its latency, whichever way it is answered (Lambda or the local gateway).
  const evaluate = async (event: unknown): Promise<Evaluation> => {
    const started = performance.now();
    const evaluation = await authorizer.evaluate(event);
    counted.decision(outcomeOf(evaluation.decision), performance.now() - started);
    return evaluation;
  };
  const handler = async (event: unknown): Promise<AuthorizerResponse> => toResponse(await evaluate(event), authorizer.responseMode);
  return Object.assign(handler, { decide: async (event: unknown) => (await evaluate(event)).decision });
}

function defaultAuthorizerMetrics(): AuthorizerMetrics {
  return createAuthorizerMetrics(emfSettingsFromEnv(process.env, DEFAULT_METRICS_NAMESPACE), (error) =>
    console.log(JSON.stringify({ level: 'WARN', msg: 'authorizer metrics could not be written', cause: error instanceof Error ? error.name : typeof error })),
  );
}

function outcomeOf(decision: AuthorizerDecision): AuthorizerOutcome {
  if (decision.effect === 'allow') return 'allow';
  return decision.status === 401 ? 'deny_401' : decision.status === 403 ? 'deny_403' : 'unavailable_503';
}

/** Formats an evaluation for API Gateway; throws where API Gateway expects a throw. */
export function toResponse(evaluation: Evaluation, httpV2Mode: 'simple' | 'iam'): AuthorizerResponse {
  const { decision, request, policy } = evaluation;
  if (decision.effect === 'deny' && decision.status === 401) throw new Error('Unauthorized');
  if (decision.effect === 'deny' && decision.status === 503) throw new Error('AuthorizerDependencyUnavailable');
  if (request === undefined || policy === undefined) throw new Error('Unauthorized');
  if (request.kind === 'http-v2' && httpV2Mode === 'simple') {
    return { isAuthorized: decision.effect === 'allow', context: decision.context };
  }
  return { principalId: decision.context.sub, policyDocument: policy, context: decision.context };
}
