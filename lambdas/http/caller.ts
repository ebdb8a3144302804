/**
 * The caller of a route behind the Lambda authorizer, as the authorizer named it in its context
 * (HTTP API payload 2.0: `requestContext.authorizer.lambda`). API Gateway only invokes such a
 * route after the authorizer allowed the token, so these fields are the token's own claims.
 */
import { InvalidTokenError } from '../core/errors.ts';

export interface AuthorizedCaller {
  readonly sub: string;
  /** The session (`sid` claim) the access token belongs to, when it has one. */
  readonly sid: string | undefined;
  /**
   * How the user authenticated (`amr`, RFC 8176 §2): the values the authorizer passes space-joined;
   * empty when it passes none.
   */
  readonly amr: readonly string[];
  /** When the user authenticated (`auth_time`, epoch seconds), when the authorizer passes it. */
  readonly authTime: number | undefined;
}

export function authorizedCaller(event: { readonly requestContext: object }): AuthorizedCaller {
  const requestContext: Record<string, unknown> = { ...event.requestContext };
  const context = requestContext['authorizer'];
  const lambdaContext = typeof context === 'object' && context !== null && 'lambda' in context ? context.lambda : undefined;
  const fields: Record<string, unknown> = typeof lambdaContext === 'object' && lambdaContext !== null ? { ...lambdaContext } : {};
  const sub = fields['sub'];
  const sid = fields['sid'];
  const amr = fields['amr'];
  const authTime = fields['auth_time'];
  if (typeof sub !== 'string' || sub === '') throw new InvalidTokenError('A valid access token is required.');
  return {
    sub,
    sid: typeof sid === 'string' && sid !== '' ? sid : undefined,
    amr: typeof amr === 'string' ? amr.split(' ').filter((value) => value !== '') : [],
    authTime: decimalSeconds(authTime),
  };
}

/** API Gateway passes context values as strings (or numbers, for a REST API's numeric values). */
function decimalSeconds(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[0-9]{1,12}$/.test(text)) return undefined;
  return Number(text);
}
