/**
 * An API's own route table, carried to the authorizer in the API's stage variables.
 *
 * Why stage variables: API Gateway puts them into every `REQUEST` authorizer event (REST:
 * `stageVariables`; HTTP API payload 2.0: `stageVariables`), they belong to the API (so two APIs
 * sharing one authorizer function can require different things on the same path), and they can
 * be identity sources, so the authorizer cache is keyed by them too. `TOKEN` events carry only the
 * token and the method ARN, so a `TOKEN` authorizer cannot see them.
 *
 * Format: the table's JSON (the same object `parseRouteRequirements` reads) in base64url (RFC 4648
 * §5), whose alphabet lies inside the characters a stage variable value may hold
 * (`[A-Za-z0-9-._~:/?#&=,]+`), split into values of at most 512 characters under the names
 * `kmsJwtAuthRoutes1of<n>` … `kmsJwtAuthRoutes<n>of<n>` (a name is alphanumeric, at most 64
 * characters; a stage holds at most 100 variables). "Quotas for configuring and running a REST
 * API" / "… an HTTP API", API Gateway Developer Guide; `Stage.variables`, API Gateway API Reference.
 */
import { decodeCanonical, encode } from './base64url.ts';
import { ConfigurationError } from './errors.ts';
import { isRecord } from './is-record.ts';
import { parseRouteRequirements, type RouteRequirementInput, type RouteTable } from './route-requirements.ts';
import { parseStrictJson } from './strict-json.ts';

export const ROUTES_STAGE_VARIABLE_PREFIX = 'kmsJwtAuthRoutes';
/** API Gateway's limit on a stage variable value. */
export const STAGE_VARIABLE_VALUE_LIMIT = 512;
/** 8 KB of encoded table at most: room for hundreds of routes, and for the API's own variables. */
export const MAX_ROUTE_VARIABLES = 16;
const PART_NAME = /^kmsJwtAuthRoutes([1-9][0-9]?)of([1-9][0-9]?)$/;

/**
 * The stage variables that carry `routes`, validated first by the authorizer's own parser (a
 * table the authorizer would refuse fails here, with its message). Throws `ConfigurationError`.
 */
export function encodeRouteRequirements(routes: Readonly<Record<string, RouteRequirementInput>>): Record<string, string> {
  parseRouteRequirements(routes, 'routes');
  const text = encode(JSON.stringify(routes));
  const count = Math.ceil(text.length / STAGE_VARIABLE_VALUE_LIMIT);
  if (count > MAX_ROUTE_VARIABLES) {
    throw new ConfigurationError(
      `routes: the table needs ${count} stage variables of ${STAGE_VARIABLE_VALUE_LIMIT} characters, more than ${MAX_ROUTE_VARIABLES}; use {param} patterns or fewer rules`,
    );
  }
  const variables: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    variables[`${ROUTES_STAGE_VARIABLE_PREFIX}${i + 1}of${count}`] = text.slice(i * STAGE_VARIABLE_VALUE_LIMIT, (i + 1) * STAGE_VARIABLE_VALUE_LIMIT);
  }
  return variables;
}

/**
 * The encoded table in an event's `stageVariables`: `undefined` when the API declares none;
 * throws `ConfigurationError` when its parts are inconsistent (a part missing, counts that
 * disagree), which the authorizer must treat as a denial, never as "no requirements".
 */
export function routeTableText(stageVariables: unknown): string | undefined {
  if (!isRecord(stageVariables)) return undefined;
  let parts: (string | undefined)[] | undefined;
  for (const name in stageVariables) {
    if (!name.startsWith(ROUTES_STAGE_VARIABLE_PREFIX)) continue;
    const match = PART_NAME.exec(name);
    const value = stageVariables[name];
    if (match === null || typeof value !== 'string') throw new ConfigurationError(`stage variable ${name} is not a route table part`);
    const index = Number(match[1]);
    const count = Number(match[2]);
    parts ??= new Array<string | undefined>(count).fill(undefined);
    if (parts.length !== count || index > count) throw new ConfigurationError('route table stage variables disagree on their count');
    parts[index - 1] = value;
  }
  if (parts === undefined) return undefined;
  let text = '';
  for (const part of parts) {
    if (part === undefined) throw new ConfigurationError('a route table stage variable is missing');
    text += part;
  }
  return text;
}

/** Parses the text `routeTableText` found; throws `ConfigurationError`. */
export function decodeRouteTable(text: string): RouteTable {
  const bytes = decodeCanonical(text);
  if (bytes === undefined) throw new ConfigurationError('route table stage variables are not base64url');
  let json: unknown;
  try {
    json = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ConfigurationError('route table stage variables are not JSON');
  }
  return parseRouteRequirements(json, 'routes');
}
