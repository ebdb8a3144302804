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
}

export function authorizedCaller(event: { readonly requestContext: object }): AuthorizedCaller {
  const requestContext: Record<string, unknown> = { ...event.requestContext };
  const context = requestContext['authorizer'];
  const lambdaContext = typeof context === 'object' && context !== null && 'lambda' in context ? context.lambda : undefined;
  const fields: Record<string, unknown> = typeof lambdaContext === 'object' && lambdaContext !== null ? { ...lambdaContext } : {};
  const sub = fields['sub'];
  const sid = fields['sid'];
  if (typeof sub !== 'string' || sub === '') throw new InvalidTokenError('A valid access token is required.');
  return { sub, sid: typeof sid === 'string' && sid !== '' ? sid : undefined };
}
