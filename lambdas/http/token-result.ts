/** A token response over HTTP: in the body, or with the refresh token moved into the cookie. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { InvalidRequestError } from '../core/errors.ts';
import type { TokenResponse } from '../core/token-issuance.ts';
import type { CookieConfig } from '../config/cookie.ts';
import { assertAllowedOrigin, setDeviceCookie, setRefreshCookie } from './cookie-mode.ts';
import { json, type HttpResponse } from './respond.ts';

export type Delivery = 'body' | 'cookie';

/** The login's device token and how long it stays trusted, delivered like the refresh token. */
interface DeviceTokenDelivery {
  readonly token: string;
  readonly maxAgeSeconds: number;
}

export function tokenResult(response: TokenResponse, delivery: Delivery, cookie: CookieConfig, device?: DeviceTokenDelivery): HttpResponse {
  if (delivery === 'body') return json(200, device === undefined ? response : { ...response, device_token: device.token });
  const { refresh_token: refreshToken, ...rest } = response;
  const cookies = [setRefreshCookie(cookie, refreshToken, response.refresh_expires_in)];
  if (device !== undefined) cookies.push(setDeviceCookie(cookie, device.token, device.maxAgeSeconds));
  return json(200, rest, {}, cookies);
}

/** Reads the client's choice (`token_delivery`), refusing cookie mode where it is off. */
export function requestedDelivery(value: string | undefined, cookie: CookieConfig, event: Pick<APIGatewayProxyEventV2, 'headers'>): Delivery {
  if (value === undefined || value === 'body') return 'body';
  if (value !== 'cookie') throw new InvalidRequestError('The field "token_delivery" must be "body" or "cookie".');
  if (!cookie.enabled) throw new InvalidRequestError('Cookie delivery is not enabled on this service.');
  assertAllowedOrigin(cookie, event);
  return 'cookie';
}
