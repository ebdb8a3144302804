/**
 * A tiny signed JSON-protocol client for the two AWS APIs the authorizer reads: DynamoDB
 * (`application/x-amz-json-1.0`) and KMS (`application/x-amz-json-1.1`). No AWS SDK: the
 * authorizer sits on the cold path of every API it protects, and the full SDK client costs
 * ~0.5 MB and >100 ms to import.
 *
 * Why not aws4fetch's `AwsClient`, which we tried first: it signs through the WHATWG `Headers`
 * and `fetch` globals, and on Node 20 the first touch of either loads undici, measured at ~100 ms
 * on this machine (`node -e "new Headers()"`). SigV4 itself is a few HMACs, so it is done here
 * with node:crypto (synchronous, no WebCrypto promise hops) and sent by a minimal keep-alive
 * HTTP/1.1 client (`http1-client.ts`, which says why not node:http). A unit test checks our Authorization header against aws4fetch's
 * `AwsV4Signer` byte for byte, so the dependency still vouches for the signing.
 *
 * Endpoints: `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_KMS` when set (the AWS SDKs'
 * service-specific endpoint variables; that is how the local stand-ins are reached), else
 * `https://<service>.<AWS_REGION>.amazonaws.com`. Credentials: `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (Lambda sets them). Every call has a deadline
 * (`Deadline`); there are no hidden retries: callers own their retry budget.
 */
import { createHash, createHmac } from 'node:crypto';
import { ConfigurationError } from '../core/errors.ts';
import type { Deadline } from './deadline.ts';
import { Http1Client } from './http1-client.ts';

export type AwsService = 'dynamodb' | 'kms';

const PROTOCOL: Record<AwsService, { readonly contentType: string; readonly endpointVariable: string }> = {
  dynamodb: { contentType: 'application/x-amz-json-1.0', endpointVariable: 'AWS_ENDPOINT_URL_DYNAMODB' },
  kms: { contentType: 'application/x-amz-json-1.1', endpointVariable: 'AWS_ENDPOINT_URL_KMS' },
};

/** Responses larger than this are not ours to parse (a BatchGetItem of 3 small items is < 2 KB). */
const MAX_RESPONSE_BYTES = 1 << 20;

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string | undefined;
}

export interface AwsJsonClientOptions {
  readonly service: AwsService;
  readonly region: string;
  readonly endpoint: string;
  readonly credentials: AwsCredentials;
}

/** A failed call: HTTP error with the AWS `__type`, a timeout, or a network error. */
export class AwsCallError extends Error {
  constructor(
    message: string,
    readonly awsType: string | undefined,
    readonly httpStatus: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AwsCallError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function resolveEndpoint(service: AwsService, env: Env): string {
  const override = env[PROTOCOL[service].endpointVariable];
  if (override !== undefined && override !== '') return override;
  const region = env.AWS_REGION;
  if (region === undefined || !/^[a-z0-9-]+$/.test(region)) throw new ConfigurationError('AWS_REGION is not set');
  return `https://${service}.${region}.amazonaws.com`;
}

export function credentialsFromEnv(env: Env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new ConfigurationError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set');
  }
  const sessionToken = env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, sessionToken: sessionToken ? sessionToken : undefined };
}

export function awsJsonClientFromEnv(service: AwsService, env: Env): AwsJsonClient {
  return new AwsJsonClient({
    service,
    region: env.AWS_REGION ?? 'us-east-1',
    endpoint: resolveEndpoint(service, env),
    credentials: credentialsFromEnv(env),
  });
}

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');

export interface SignedRequest {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export class AwsJsonClient {
  private readonly url: URL;
  private readonly host: string;
  private readonly http: Http1Client;
  private signingKey: { readonly date: string; readonly key: Buffer } | undefined;

  constructor(private readonly options: AwsJsonClientOptions) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new ConfigurationError(`invalid ${options.service} endpoint`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigurationError('endpoint must be http(s)');
    this.url = url;
    this.host = url.host;
    // Keep-alive: the warm path then costs one request on an open connection.
    this.http = new Http1Client(url);
  }

  /**
   * SigV4 (AWS General Reference, "Create a signed AWS API request"): canonical request, string
   * to sign, HMAC chain; the derived key is cached for its UTC day.
   */
  sign(target: string, body: string, now: Date = new Date()): SignedRequest {
    const { service, region, credentials } = this.options;
    const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
    const date = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      'content-type': PROTOCOL[service].contentType,
      host: this.host,
      'x-amz-date': amzDate,
      ...(credentials.sessionToken === undefined ? {} : { 'x-amz-security-token': credentials.sessionToken }),
      'x-amz-target': target,
    };
    const signedHeaders = Object.keys(headers).sort();
    const canonicalRequest = [
      'POST',
      this.url.pathname || '/',
      this.url.search.slice(1),
      ...signedHeaders.map((name) => `${name}:${headers[name] ?? ''}`),
      '',
      signedHeaders.join(';'),
      sha256Hex(body),
    ].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const signature = createHmac('sha256', this.keyFor(date)).update(stringToSign, 'utf8').digest('hex');
    headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
    return { url: this.url, headers, body };
  }

  private keyFor(date: string): Buffer {
    if (this.signingKey?.date === date) return this.signingKey.key;
    const { service, region, credentials } = this.options;
    const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
    const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), service), 'aws4_request');
    this.signingKey = { date, key };
    return key;
  }

  /** Opens the keep-alive connection ahead of the first call (see `Http1Client.preconnect`). */
  preconnect(): void {
    this.http.preconnect();
  }

  /** POSTs `payload` as `X-Amz-Target: target`; resolves to the parsed JSON body (`unknown`). */
  async call(target: string, payload: unknown, deadline: Deadline): Promise<unknown> {
    const signed = this.sign(target, JSON.stringify(payload));
    const { status, text } = await this.send(signed, deadline);
    let body: unknown;
    try {
      body = text.length === 0 ? {} : JSON.parse(text);
    } catch (cause) {
      throw new AwsCallError(`${this.options.service} answered with invalid JSON`, undefined, status, { cause });
    }
    if (status !== 200) {
      const type = typeof body === 'object' && body !== null && '__type' in body ? String(body.__type) : undefined;
      // `__type` is "namespace#ExceptionName" in the JSON protocols.
      const name = type?.slice(type.indexOf('#') + 1);
      throw new AwsCallError(`${this.options.service} call failed: ${name ?? `HTTP ${status}`}`, name, status);
    }
    return body;
  }

  private async send(signed: SignedRequest, deadline: Deadline): Promise<{ status: number; text: string }> {
    const { host: _host, ...headers } = signed.headers;
    try {
      const response = await this.http.post({ host: this.host, ...headers }, signed.body, deadline, MAX_RESPONSE_BYTES);
      return { status: response.status, text: response.body.toString('utf8') };
    } catch (cause) {
      throw new AwsCallError(`${this.options.service} unreachable`, undefined, undefined, { cause });
    }
  }
}
