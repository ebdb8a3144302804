/**
 * The authorizer's decision, independent of the Lambda event format it answers in:
 * event → (token, route, the API's own route table) → verify → denylist → route requirements →
 * decision (+ the IAM policy that expresses it for every route at once). Collaborators are passed
 * in; `handler.ts` wires the production ones.
 */
import type { PolicyDocument, Statement } from 'aws-lambda';
import { AccessTokenVerifier, UnknownKeyIdError } from '../core/access-token-verifier.ts';
import type { KeyLookup } from '../core/access-token-verifier.ts';
import { revocationReason } from '../core/denylist-policy.ts';
import { AuthError, ConfigurationError, DependencyUnavailableError } from '../core/errors.ts';
import { decodeRouteTable, routeTableText } from '../core/route-requirements-codec.ts';
import {
  EMPTY_ROUTE_TABLE,
  grantedScopes,
  requirementFor,
  shortfall,
  unsatisfiedRules,
  type RouteTable,
  type Shortfall,
  type TokenAuthentication,
} from '../core/route-requirements.ts';
import type { VerificationKeyRing } from '../core/ports.ts';
import type { AccessTokenClaims } from '../core/token-model.ts';
import type { DenylistReader } from '../core/ports.ts';
import type { AuthorizerConfig } from '../config/authorizer.ts';
import { bearerToken, parseExecuteApiArn, toAuthorizationRequest } from './events.ts';
import type { AuthorizationRequest, ParsedArn } from './events.ts';

/** What the backend receives (API Gateway `$context.authorizer.*` / `requestContext.authorizer.lambda`). */
export interface AuthorizerContext {
  readonly sub: string;
  readonly scope: string;
  readonly sid: string;
  readonly jti: string;
  readonly client_id: string;
  /** RFC 8176 methods from the token's `amr`, space-separated; empty when it has none. */
  readonly amr: string;
  /** The token's `auth_time` (seconds since the epoch), as a decimal string. */
  readonly auth_time: string;
  /** Index signature so the object fits API Gateway's context map type. */
  readonly [key: string]: string;
}

export type ForbiddenDecision = Extract<AuthorizerDecision, { status: 403 }>;

export type AuthorizerDecision =
  | { readonly effect: 'allow'; readonly context: AuthorizerContext }
  | { readonly effect: 'deny'; readonly status: 401; readonly error: 'invalid_token'; readonly description: string }
  | {
      readonly effect: 'deny';
      readonly status: 403;
      readonly error: 'insufficient_scope';
      readonly description: string;
      readonly context: AuthorizerContext;
    }
  | {
      /** RFC 9470 §3: the token is valid but its authentication is too weak or too old for the route. */
      readonly effect: 'deny';
      readonly status: 403;
      readonly error: 'insufficient_user_authentication';
      readonly description: string;
      /** RFC 9470 §3 `max_age`: authenticate again no longer than this many seconds before the request. */
      readonly maxAge: number | undefined;
      readonly context: AuthorizerContext;
    }
  | {
      readonly effect: 'deny';
      readonly status: 503;
      readonly error: 'temporarily_unavailable';
      readonly description: string;
    };

/** A decision plus what the response formats need to express it. */
export interface Evaluation {
  readonly decision: AuthorizerDecision;
  readonly request: AuthorizationRequest | undefined;
  /** Present for allow and 403: the route-independent IAM policy (see `policyFor`). */
  readonly policy: PolicyDocument | undefined;
}

export interface AuthorizerDeps {
  readonly config: AuthorizerConfig;
  readonly keyRing: VerificationKeyRing;
  readonly denylist: DenylistReader;
  readonly nowSeconds: () => number;
  /** One structured line per denial or failure; never given a token or a key. */
  readonly log: (entry: Record<string, unknown>) => void;
}

const unauthorized = (description: string): AuthorizerDecision => ({
  effect: 'deny',
  status: 401,
  error: 'invalid_token',
  description,
});

/** Distinct API route tables a container keeps parsed. */
const API_TABLE_CACHE_SIZE = 64;

/** RFC 6750 §3.1 / RFC 9470 §3; scope names and ages are configuration, safe to say. */
function forbidden(unmet: Shortfall, context: AuthorizerContext): ForbiddenDecision {
  if (unmet.error === 'insufficient_scope') {
    return { effect: 'deny', status: 403, error: unmet.error, description: `requires scope: ${unmet.missingScopes.join(' ')}`, context };
  }
  const needs = [
    ...(unmet.mfa ? ['multi-factor authentication'] : []),
    ...(unmet.maxAuthAgeSeconds !== undefined ? [`an authentication within the last ${unmet.maxAuthAgeSeconds} seconds`] : []),
  ];
  return {
    effect: 'deny',
    status: 403,
    error: unmet.error,
    description: `requires ${needs.join(' and ')}`,
    maxAge: unmet.maxAuthAgeSeconds,
    context,
  };
}

export class Authorizer {
  private readonly verifier: AccessTokenVerifier;
  private verifierKeys: KeyLookup | undefined;
  /** The auth stack's table alone, for APIs without their own. */
  private readonly stackTables: readonly RouteTable[];
  private readonly apiTables = new Map<string, RouteTable | ConfigurationError>();

  constructor(private readonly deps: AuthorizerDeps) {
    this.verifier = new AccessTokenVerifier(deps.config.policy, new Map());
    this.stackTables = [deps.config.routeRequirements];
  }

  /** How HTTP API payload 2.0 events are answered (REST events always get a policy). */
  get responseMode(): 'simple' | 'iam' {
    return this.deps.config.responseMode;
  }

  async decide(event: unknown): Promise<AuthorizerDecision> {
    return (await this.evaluate(event)).decision;
  }

  async evaluate(event: unknown): Promise<Evaluation> {
    const request = toAuthorizationRequest(event);
    const arn = parseExecuteApiArn(request?.arn);
    if (request === undefined || arn === undefined) {
      return this.deny(request, unauthorized('not an API Gateway authorizer event'));
    }
    const token = bearerToken(request.authorization);
    if (token === undefined) return this.deny(request, unauthorized('missing bearer token'));
    const apiTable = this.apiRouteTable(request.stageVariables);
    if (apiTable instanceof ConfigurationError) {
      // The API's own requirements cannot be read: fail closed (never "no requirements"), loudly,
      // and uncached (a thrown error is not cached by API Gateway).
      this.deps.log({ msg: 'authorizer internal error', level: 'ERROR', cause: apiTable.message });
      return this.deny(request, { effect: 'deny', status: 503, error: 'temporarily_unavailable', description: 'route requirements unreadable' });
    }

    // One clock reading for the whole decision: a revocation entry lives until the token's `exp`
    // (plus skew), so judging it at a later instant than the token could let a just-revoked
    // token through when the read straddles `exp`.
    const now = this.deps.nowSeconds();
    let claims: AccessTokenClaims;
    try {
      claims = await this.verify(token, now);
      const revoked = revocationReason(claims, await this.deps.denylist.read(claims.sub), now);
      if (revoked !== undefined) return this.deny(request, unauthorized(revoked));
    } catch (error) {
      return this.deny(request, this.failure(error));
    }

    const context: AuthorizerContext = {
      sub: claims.sub,
      scope: claims.scope,
      sid: claims.sid,
      jti: claims.jti,
      client_id: claims.client_id,
      amr: claims.amr?.join(' ') ?? '',
      auth_time: String(claims.auth_time),
    };
    const tables = apiTable === EMPTY_ROUTE_TABLE ? this.stackTables : [this.deps.config.routeRequirements, apiTable];
    const authentication: TokenAuthentication = { granted: grantedScopes(claims.scope), amr: claims.amr, authTime: claims.auth_time, now };
    const policy = this.policyFor(arn, tables, authentication);
    const unmet = shortfall(requirementFor(tables, arn.resource), authentication);
    if (unmet !== undefined) {
      const decision = forbidden(unmet, context);
      this.deps.log({ msg: 'authorizer denied', status: 403, error: decision.error, reason: decision.description, sub: claims.sub, jti: claims.jti });
      return { decision, request, policy };
    }
    return { decision: { effect: 'allow', context }, request, policy };
  }

  /**
   * The API's own route table from its stage variables, parsed once per distinct text (the same
   * few APIs call a warm container over and over); a `ConfigurationError` when unreadable.
   */
  private apiRouteTable(stageVariables: unknown): RouteTable | ConfigurationError {
    let text: string | undefined;
    try {
      text = routeTableText(stageVariables);
    } catch (error) {
      return error instanceof ConfigurationError ? error : new ConfigurationError('route table stage variables unreadable');
    }
    if (text === undefined) return EMPTY_ROUTE_TABLE;
    const known = this.apiTables.get(text);
    if (known !== undefined) return known;
    let parsed: RouteTable | ConfigurationError;
    try {
      parsed = decodeRouteTable(text);
    } catch (error) {
      parsed = error instanceof ConfigurationError ? error : new ConfigurationError('route table stage variables unreadable');
    }
    // Bounded: the texts come from API configuration, not from callers, but a container must not
    // grow without limit if many APIs (or stages) share it.
    if (this.apiTables.size >= API_TABLE_CACHE_SIZE) this.apiTables.clear();
    this.apiTables.set(text, parsed);
    return parsed;
  }

  private async verify(token: string, now: number): Promise<AccessTokenClaims> {
    const keys = await this.deps.keyRing.current();
    if (keys !== this.verifierKeys) {
      this.verifier.setKeys(keys);
      this.verifierKeys = keys;
    }
    try {
      return await this.verifier.verify(token, now);
    } catch (error) {
      if (!(error instanceof UnknownKeyIdError)) throw error;
      // Maybe a key was added since we loaded: reload, at most once per cooldown.
      const reloaded = await this.deps.keyRing.reloadForUnknownKid();
      if (reloaded === undefined) throw error;
      this.verifier.setKeys(reloaded);
      this.verifierKeys = reloaded;
      return this.verifier.verify(token, now);
    }
  }

  private failure(error: unknown): AuthorizerDecision {
    if (error instanceof DependencyUnavailableError) {
      this.deps.log({ msg: 'authorizer dependency unavailable', level: 'ERROR', cause: describeCause(error.cause) });
      return { effect: 'deny', status: 503, error: 'temporarily_unavailable', description: error.description };
    }
    if (error instanceof AuthError && error.status === 401) return unauthorized(error.description);
    // Anything else is a bug or a broken configuration: fail closed, loudly.
    this.deps.log({ msg: 'authorizer internal error', level: 'ERROR', cause: describeCause(error) });
    return unauthorized('token could not be verified');
  }

  private deny(request: AuthorizationRequest | undefined, decision: AuthorizerDecision): Evaluation {
    if (decision.effect === 'deny' && decision.status === 401) {
      this.deps.log({ msg: 'authorizer denied', status: 401, error: decision.error, reason: decision.description });
    }
    return { decision, request, policy: undefined };
  }

  /**
   * One policy that is right for EVERY route of the stage, because API Gateway may reuse it
   * (authorizer caching) on other routes for as long as the TTL: REST TOKEN authorizers cache by
   * token alone, REQUEST ones by their identity sources. It allows the whole stage and explicitly
   * denies each rule (of the stack's table and the API's own) this token does not satisfy (an
   * explicit Deny wins over Allow in IAM evaluation). When the token satisfies every rule (or
   * there are none), the decision does not depend on the route and the policy is a single
   * wildcard Allow.
   */
  private policyFor(arn: ParsedArn, tables: readonly RouteTable[], token: TokenAuthentication): PolicyDocument {
    const denied = unsatisfiedRules(tables, token).flatMap((rule) =>
      rule.resourceGlobs.map((glob) => `${arn.apiStagePrefix}/${glob}`),
    );
    const statements: Statement[] = [
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${arn.apiStagePrefix}/*`] },
    ];
    if (denied.length > 0) statements.push({ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: denied });
    return { Version: '2012-10-17', Statement: statements };
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`.slice(0, 300);
  return 'unknown';
}
