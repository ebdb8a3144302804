/**
 * What a route requires of an access token (scopes, and how recently and with which methods the
 * user authenticated), and the IAM resources that express it.
 *
 * Configuration: a JSON object `"METHOD /path/pattern"` → requirement, where a requirement is
 * either an array of scopes (`["admin"]`) or an object
 * `{ "scopes"?: [...], "mfa"?: true, "maxAuthAgeSeconds"?: n }`, e.g.
 * `{"GET /admin":["admin"],"POST /payments":{"scopes":["pay"],"mfa":true,"maxAuthAgeSeconds":300}}`.
 * `mfa` asks for `"mfa"` in the token's `amr` claim (RFC 8176 §2: "multiple-factor
 * authentication"); `maxAuthAgeSeconds` bounds `now - auth_time` (RFC 9470 §3 `max_age`).
 * Method is an HTTP method or `ANY`; a pattern segment may be `{param}`, and the last one
 * `{proxy+}` or `*`. Routes absent from every table need nothing beyond a valid token.
 *
 * Two tables apply to a request: the auth stack's (`ROUTE_SCOPES`, every API) and the API's own
 * (its stage variables, see route-requirements-codec.ts). Their rules are simply pooled: a request
 * needs what every matching rule of either table asks (union of scopes, `mfa` if any asks, the
 * smallest age), so an API can add requirements but never remove the stack's (fail closed).
 *
 * One matching rule for both outputs. API Gateway enforces IAM policies by matching the
 * `methodArn`/`routeArn` of each request against resource globs in which `*` matches any run of
 * characters, `/` included. A cached policy is evaluated that way for every route it is reused
 * on, so the in-process decision (`requirementFor`) uses exactly the same globs: each `{param}`
 * becomes `*`. Consequence, documented in docs/authorizer.md: `{id}` also matches `a/b`, so a
 * rule can cover more paths than its pattern reads, never fewer (fail closed). A trailing `/` on
 * the request is covered too, because `/admin/` must not slip past a rule for `/admin`.
 */
import { ConfigurationError } from './errors.ts';
import { isRecord } from './is-record.ts';

const METHODS = new Set(['ANY', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** A literal path segment: RFC 3986 pchar without `*`, which is the glob metacharacter. */
const LITERAL_SEGMENT = /^[A-Za-z0-9\-._~!$&'()+,;=:@%]+$/;
const PARAM_SEGMENT = /^\{[A-Za-z0-9_.\-]+\}$/;
const GREEDY_SEGMENT = /^(?:\{[A-Za-z0-9_.\-]+\+\}|\*)$/;
/** One year: longer than any session can live (the refresh family's absolute lifetime). */
export const MAX_AUTH_AGE_SECONDS = 31_536_000;
/** RFC 8176 §2: "mfa", multiple-factor authentication. */
export const MFA_METHOD = 'mfa';

/** A route's requirement as configured: the array form is scopes only. */
export type RouteRequirementInput =
  | readonly string[]
  | { readonly scopes?: readonly string[]; readonly mfa?: boolean; readonly maxAuthAgeSeconds?: number };

export interface RouteRequirement {
  readonly scopes: readonly string[];
  /** The token's `amr` must contain `"mfa"`. */
  readonly mfa: boolean;
  /** `now - auth_time` must not exceed this; `undefined`: any age. */
  readonly maxAuthAgeSeconds: number | undefined;
}

interface RouteRule {
  /** As written in the configuration, for logs and docs. */
  readonly route: string;
  readonly requirement: RouteRequirement;
  /** IAM resource suffixes after `<apiId>/<stage>/`, e.g. `GET/admin` and `GET/admin/`. */
  readonly resourceGlobs: readonly string[];
  readonly matchers: readonly RegExp[];
}

export type RouteTable = readonly RouteRule[];

export const EMPTY_ROUTE_TABLE: RouteTable = [];

/**
 * Parses and validates a route table (already JSON-parsed); throws `ConfigurationError`, whose
 * message starts with `label` (`ROUTE_SCOPES` for the auth stack's, `routes` for an API's).
 */
export function parseRouteRequirements(config: unknown, label = 'ROUTE_SCOPES'): RouteTable {
  if (!isRecord(config) || Array.isArray(config)) {
    throw new ConfigurationError(`${label} must be a JSON object of "METHOD /path" -> ["scope", ...] or {scopes, mfa, maxAuthAgeSeconds}`);
  }
  const rules: RouteRule[] = [];
  for (const [route, value] of Object.entries(config)) {
    const match = /^([A-Z]+) (\/.*)$/.exec(route);
    if (match === null || match[1] === undefined || match[2] === undefined || !METHODS.has(match[1])) {
      throw new ConfigurationError(`${label}: "${route}" is not "METHOD /path" (method ANY or an HTTP method)`);
    }
    const requirement = parseRequirement(label, route, value);
    const method = match[1] === 'ANY' ? '*' : match[1];
    const pathGlob = pathPatternToGlob(label, route, match[2]);
    const base = `${method}/${pathGlob}`;
    const resourceGlobs = base.endsWith('*') || base.endsWith('/') ? [base] : [base, `${base}/`];
    rules.push({ route, requirement, resourceGlobs, matchers: resourceGlobs.map(globToRegExp) });
  }
  return rules;
}

function parseScopes(label: string, route: string, scopes: unknown, allowEmpty: boolean): string[] {
  if (!Array.isArray(scopes) || (!allowEmpty && scopes.length === 0) || !scopes.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
    throw new ConfigurationError(`${label}: "${route}" needs a non-empty array of scope tokens`);
  }
  return [...new Set(scopes as string[])];
}

function parseRequirement(label: string, route: string, value: unknown): RouteRequirement {
  if (Array.isArray(value)) return { scopes: parseScopes(label, route, value, false), mfa: false, maxAuthAgeSeconds: undefined };
  if (!isRecord(value)) {
    throw new ConfigurationError(`${label}: "${route}" needs a non-empty array of scope tokens or {scopes, mfa, maxAuthAgeSeconds}`);
  }
  for (const name of Object.keys(value)) {
    if (name !== 'scopes' && name !== 'mfa' && name !== 'maxAuthAgeSeconds') {
      throw new ConfigurationError(`${label}: "${route}" has an unknown member "${name}" (scopes, mfa, maxAuthAgeSeconds)`);
    }
  }
  const scopes = value.scopes === undefined ? [] : parseScopes(label, route, value.scopes, true);
  if (value.mfa !== undefined && typeof value.mfa !== 'boolean') {
    throw new ConfigurationError(`${label}: "${route}" mfa must be true or false`);
  }
  const maxAge = value.maxAuthAgeSeconds;
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > MAX_AUTH_AGE_SECONDS)) {
    throw new ConfigurationError(`${label}: "${route}" maxAuthAgeSeconds must be a whole number of seconds from 0 to ${MAX_AUTH_AGE_SECONDS}`);
  }
  const requirement = { scopes, mfa: value.mfa === true, maxAuthAgeSeconds: maxAge };
  if (scopes.length === 0 && !requirement.mfa && maxAge === undefined) {
    throw new ConfigurationError(`${label}: "${route}" requires nothing (give scopes, mfa: true or maxAuthAgeSeconds)`);
  }
  return requirement;
}

function pathPatternToGlob(label: string, route: string, path: string): string {
  if (path === '/') return '';
  const segments = path.slice(1).split('/');
  return segments
    .map((segment, index) => {
      if (LITERAL_SEGMENT.test(segment)) return segment;
      if (PARAM_SEGMENT.test(segment)) return '*';
      if (GREEDY_SEGMENT.test(segment) && index === segments.length - 1) return '*';
      throw new ConfigurationError(`${label}: "${route}" has an unsupported path segment`);
    })
    .join('/');
}

/** IAM resource glob semantics: `*` any run of characters (including none), `?` is not used. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${body}$`);
}

/** What a request needs, pooled over every matching rule of every table. */
export interface CombinedRequirement {
  readonly scopes: ReadonlySet<string>;
  readonly mfa: boolean;
  readonly maxAuthAgeSeconds: number | undefined;
}

/**
 * The requirement of a request: the union over every matching rule of `tables`. `resource` is
 * the part of the method/route ARN after `<apiId>/<stage>/`, i.e. `METHOD/path/without/leading/slash`.
 */
export function requirementFor(tables: readonly RouteTable[], resource: string): CombinedRequirement {
  const scopes = new Set<string>();
  let mfa = false;
  let maxAuthAgeSeconds: number | undefined;
  for (const table of tables) {
    for (const rule of table) {
      if (!rule.matchers.some((m) => m.test(resource))) continue;
      for (const s of rule.requirement.scopes) scopes.add(s);
      mfa ||= rule.requirement.mfa;
      const age = rule.requirement.maxAuthAgeSeconds;
      if (age !== undefined && (maxAuthAgeSeconds === undefined || age < maxAuthAgeSeconds)) maxAuthAgeSeconds = age;
    }
  }
  return { scopes, mfa, maxAuthAgeSeconds };
}

/** What the token proves, as the rules read it. */
export interface TokenAuthentication {
  readonly granted: ReadonlySet<string>;
  /** RFC 8176 method references; `undefined` when the token carries no `amr`. */
  readonly amr: readonly string[] | undefined;
  readonly authTime: number;
  readonly now: number;
}

/**
 * Why a token falls short of a requirement, or `undefined` when it meets it. A missing scope is
 * reported before a missing authentication: authenticating again cannot grant a scope, so the
 * client should not be sent through a step-up that would end in another 403.
 */
export type Shortfall =
  | { readonly error: 'insufficient_scope'; readonly missingScopes: readonly string[] }
  | {
      readonly error: 'insufficient_user_authentication';
      readonly mfa: boolean;
      readonly maxAuthAgeSeconds: number | undefined;
    };

export function shortfall(required: CombinedRequirement, token: TokenAuthentication): Shortfall | undefined {
  const missing = [...required.scopes].filter((s) => !token.granted.has(s));
  if (missing.length > 0) return { error: 'insufficient_scope', missingScopes: missing };
  const needsMfa = required.mfa && !hasMfa(token);
  const tooOld = required.maxAuthAgeSeconds !== undefined && token.now - token.authTime > required.maxAuthAgeSeconds;
  if (!needsMfa && !tooOld) return undefined;
  return { error: 'insufficient_user_authentication', mfa: required.mfa, maxAuthAgeSeconds: required.maxAuthAgeSeconds };
}

function hasMfa(token: TokenAuthentication): boolean {
  return token.amr !== undefined && token.amr.includes(MFA_METHOD);
}

/** RFC 6749 §3.3: the `scope` claim is a space-delimited, case-sensitive list. */
export function grantedScopes(scopeClaim: string): ReadonlySet<string> {
  return new Set(scopeClaim.split(' ').filter((s) => s.length > 0));
}

/**
 * Rules this token does not satisfy (at `token.now`): each becomes an explicit Deny in a
 * route-independent policy. An age rule the token meets now is not denied, so a policy cached
 * for N seconds can let a token through up to N seconds past the rule's age (docs/authorizer.md).
 */
export function unsatisfiedRules(tables: readonly RouteTable[], token: TokenAuthentication): RouteRule[] {
  const result: RouteRule[] = [];
  for (const table of tables) {
    for (const rule of table) {
      const r = rule.requirement;
      const unmet =
        r.scopes.some((s) => !token.granted.has(s)) ||
        (r.mfa && !hasMfa(token)) ||
        (r.maxAuthAgeSeconds !== undefined && token.now - token.authTime > r.maxAuthAgeSeconds);
      if (unmet) result.push(rule);
    }
  }
  return result;
}
