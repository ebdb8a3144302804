/**
 * Required scopes per route, and the IAM resources that express them.
 *
 * Configuration (env `ROUTE_SCOPES`): a JSON object `"METHOD /path/pattern"` → array of scopes,
 * e.g. `{"GET /admin":["admin"],"ANY /reports/{id}/{proxy+}":["reports:read"]}`. Method is an
 * HTTP method or `ANY`; a pattern segment may be `{param}`, and the last one `{proxy+}` or `*`.
 * Routes absent from the table need no scope (any valid token).
 *
 * One matching rule for both outputs. API Gateway enforces IAM policies by matching the
 * `methodArn`/`routeArn` of each request against resource globs in which `*` matches any run of
 * characters, `/` included. A cached policy is evaluated that way for every route it is reused
 * on, so the in-process decision (`requiredScopesFor`) uses exactly the same globs: each
 * `{param}` becomes `*`, and the required scopes of a request are the UNION over every rule whose
 * glob matches it. Consequence, documented in docs/authorizer.md: `{id}` also matches `a/b`, so a
 * rule can cover more paths than its pattern reads, never fewer (fail closed). A trailing `/` on
 * the request is covered too, because `/admin/` must not slip past a rule for `/admin`.
 */
import { ConfigurationError } from './errors.ts';

const METHODS = new Set(['ANY', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** A literal path segment: RFC 3986 pchar without `*`, which is the glob metacharacter. */
const LITERAL_SEGMENT = /^[A-Za-z0-9\-._~!$&'()+,;=:@%]+$/;
const PARAM_SEGMENT = /^\{[A-Za-z0-9_.\-]+\}$/;
const GREEDY_SEGMENT = /^(?:\{[A-Za-z0-9_.\-]+\+\}|\*)$/;

interface RouteScopeRule {
  /** As written in the configuration, for logs and docs. */
  readonly route: string;
  readonly requiredScopes: readonly string[];
  /** IAM resource suffixes after `<apiId>/<stage>/`, e.g. `GET/admin` and `GET/admin/`. */
  readonly resourceGlobs: readonly string[];
  readonly matchers: readonly RegExp[];
}

export type RouteScopeTable = readonly RouteScopeRule[];

/** Parses and validates `ROUTE_SCOPES` (already JSON-parsed); throws `ConfigurationError`. */
export function parseRouteScopes(config: unknown): RouteScopeTable {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigurationError('ROUTE_SCOPES must be a JSON object of "METHOD /path" -> ["scope", ...]');
  }
  const rules: RouteScopeRule[] = [];
  for (const [route, scopes] of Object.entries(config)) {
    const match = /^([A-Z]+) (\/.*)$/.exec(route);
    if (match === null || match[1] === undefined || match[2] === undefined || !METHODS.has(match[1])) {
      throw new ConfigurationError(`ROUTE_SCOPES: "${route}" is not "METHOD /path" (method ANY or an HTTP method)`);
    }
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
      throw new ConfigurationError(`ROUTE_SCOPES: "${route}" needs a non-empty array of scope tokens`);
    }
    const method = match[1] === 'ANY' ? '*' : match[1];
    const pathGlob = pathPatternToGlob(route, match[2]);
    const base = `${method}/${pathGlob}`;
    const resourceGlobs = base.endsWith('*') || base.endsWith('/') ? [base] : [base, `${base}/`];
    rules.push({
      route,
      requiredScopes: [...new Set(scopes as string[])],
      resourceGlobs,
      matchers: resourceGlobs.map(globToRegExp),
    });
  }
  return rules;
}

function pathPatternToGlob(route: string, path: string): string {
  if (path === '/') return '';
  const segments = path.slice(1).split('/');
  return segments
    .map((segment, index) => {
      if (LITERAL_SEGMENT.test(segment)) return segment;
      if (PARAM_SEGMENT.test(segment)) return '*';
      if (GREEDY_SEGMENT.test(segment) && index === segments.length - 1) return '*';
      throw new ConfigurationError(`ROUTE_SCOPES: "${route}" has an unsupported path segment`);
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

/**
 * The scopes a request needs: the union over every matching rule. `resource` is the part of the
 * method/route ARN after `<apiId>/<stage>/`, i.e. `METHOD/path/without/leading/slash`.
 */
export function requiredScopesFor(table: RouteScopeTable, resource: string): ReadonlySet<string> {
  const required = new Set<string>();
  for (const rule of table) {
    if (rule.matchers.some((m) => m.test(resource))) for (const s of rule.requiredScopes) required.add(s);
  }
  return required;
}

/** RFC 6749 §3.3: the `scope` claim is a space-delimited, case-sensitive list. */
export function grantedScopes(scopeClaim: string): ReadonlySet<string> {
  return new Set(scopeClaim.split(' ').filter((s) => s.length > 0));
}

export function missingScopes(required: ReadonlySet<string>, granted: ReadonlySet<string>): string[] {
  return [...required].filter((s) => !granted.has(s));
}

/** Rules this token does not satisfy: each becomes an explicit Deny in a route-independent policy. */
export function unsatisfiedRules(table: RouteScopeTable, granted: ReadonlySet<string>): RouteScopeRule[] {
  return table.filter((rule) => rule.requiredScopes.some((s) => !granted.has(s)));
}
