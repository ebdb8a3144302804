/** A token response over HTTP: in the body, or with the refresh token moved into the cookie. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { InvalidRequestError } from '../core/errors.ts';
import type { TokenResponse } from '../core/token-issuance.ts';
import { assertAllowedOrigin, setRefreshCookie, type CookieConfig } from './cookie-mode.ts';
import { json, type HttpResponse } from './respond.ts';

export type Delivery = 'body' | 'cookie';

export function tokenResult(response: TokenResponse, delivery: Delivery, cookie: CookieConfig): HttpResponse {
  if (delivery === 'body') return json(200, response);
  const { refresh_token: refreshToken, ...rest } = response;
  return json(200, rest, {}, [setRefreshCookie(cookie, refreshToken, response.refresh_expires_in)]);
}

/** Reads the client's choice (`token_delivery`), refusing cookie mode where it is off. */
export function requestedDelivery(value: string | undefined, cookie: CookieConfig, event: Pick<APIGatewayProxyEventV2, 'headers'>): Delivery {
  if (value === undefined || value === 'body') return 'body';
  if (value !== 'cookie') throw new InvalidRequestError('The field "token_delivery" must be "body" or "cookie".');
  if (!cookie.enabled) throw new InvalidRequestError('Cookie delivery is not enabled on this service.');
  assertAllowedOrigin(cookie, event);
  return 'cookie';
}
