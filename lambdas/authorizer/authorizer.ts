/**
 * The authorizer's decision, independent of the Lambda event format it answers in:
 * event → (token, route) → verify → denylist → route scopes → decision (+ the IAM policy that
 * expresses it for every route at once). Collaborators are passed in; `handler.ts` wires the
 * production ones.
 */
import type { PolicyDocument, Statement } from 'aws-lambda';
import { AccessTokenVerifier, UnknownKeyIdError } from '../core/access-token-verifier.ts';
import type { KeyLookup } from '../core/access-token-verifier.ts';
import { revocationReason } from '../core/denylist-policy.ts';
import { AuthError, DependencyUnavailableError } from '../core/errors.ts';
import {
  grantedScopes,
  missingScopes,
  requiredScopesFor,
  unsatisfiedRules,
} from '../core/route-scopes.ts';
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
  /** Index signature so the object fits API Gateway's context map type. */
  readonly [key: string]: string;
}

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

export class Authorizer {
  private readonly verifier: AccessTokenVerifier;
  private verifierKeys: KeyLookup | undefined;

  constructor(private readonly deps: AuthorizerDeps) {
    this.verifier = new AccessTokenVerifier(deps.config.policy, new Map());
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
    };
    const granted = grantedScopes(claims.scope);
    const missing = missingScopes(requiredScopesFor(this.deps.config.routeScopes, arn.resource), granted);
    const policy = this.policyFor(arn, granted);
    if (missing.length > 0) {
      // RFC 6750 §3.1 insufficient_scope; scope names are configuration, safe to say.
      const decision: AuthorizerDecision = {
        effect: 'deny',
        status: 403,
        error: 'insufficient_scope',
        description: `requires scope: ${missing.join(' ')}`,
        context,
      };
      this.deps.log({ msg: 'authorizer denied', status: 403, error: decision.error, reason: decision.description, sub: claims.sub, jti: claims.jti });
      return { decision, request, policy };
    }
    return { decision: { effect: 'allow', context }, request, policy };
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
   * token alone. It allows the whole stage and explicitly denies each configured rule whose scopes
   * this token lacks (an explicit Deny wins over Allow in IAM evaluation). When the token
   * satisfies every rule (or there are none), the decision does not depend on the route and the
   * policy is a single wildcard Allow.
   */
  private policyFor(arn: ParsedArn, granted: ReadonlySet<string>): PolicyDocument {
    const denied = unsatisfiedRules(this.deps.config.routeScopes, granted).flatMap((rule) =>
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
