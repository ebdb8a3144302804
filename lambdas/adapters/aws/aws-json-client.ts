/**
 * A small signed client for the two AWS JSON-protocol APIs the authorizer reads: DynamoDB
 * (`application/x-amz-json-1.0`) and KMS (`application/x-amz-json-1.1`). No AWS SDK here: the
 * authorizer sits on the cold path of every API it protects, and the SDK clients cost ~0.5 MB and
 * >100 ms to load. SigV4 (`sigv4.ts`), endpoints by partition and FIPS (`endpoints.ts`) and
 * Node's https client (`https-transport.ts`) are the pieces.
 *
 * Credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (Lambda sets
 * them). Every call has a deadline; the only retry is the transport's one resend on a stale
 * kept-alive connection: callers own their retry budget.
 */
import { ConfigurationError } from '../../core/errors.ts';
import type { Deadline } from './deadline.ts';
import { resolveEndpoint } from './endpoints.ts';
import type { AwsService } from './endpoints.ts';
import { HttpsTransport } from './https-transport.ts';
import { SigV4Signer } from './sigv4.ts';
import type { AwsCredentials } from './sigv4.ts';

const CONTENT_TYPE: Record<AwsService, string> = {
  dynamodb: 'application/x-amz-json-1.0',
  kms: 'application/x-amz-json-1.1',
};

/** Responses larger than this are not ours to parse (a BatchGetItem of 3 small items is < 2 KB). */
const MAX_RESPONSE_BYTES = 1 << 20;

interface AwsJsonClientOptions {
  readonly service: AwsService;
  readonly region: string;
  readonly endpoint: URL;
  readonly credentials: AwsCredentials;
}

/** A failed call: an HTTP error with the AWS `__type`, a timeout, or a network error. */
class AwsCallError extends Error {
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
  const endpoint = resolveEndpoint(service, env);
  const region = env.AWS_REGION?.trim() || 'us-east-1';
  return new AwsJsonClient({ service, region, endpoint, credentials: credentialsFromEnv(env) });
}

export class AwsJsonClient {
  private readonly signer: SigV4Signer;
  private readonly transport: HttpsTransport;

  constructor(private readonly options: AwsJsonClientOptions) {
    this.signer = new SigV4Signer(options);
    this.transport = new HttpsTransport(options.endpoint, { maxResponseBytes: MAX_RESPONSE_BYTES });
  }

  /** The signed headers of a call (exposed for the byte-for-byte SigV4 tests). */
  sign(target: string, body: string, now?: Date): Record<string, string> {
    return this.signer.sign(
      this.options.endpoint,
      { 'content-type': CONTENT_TYPE[this.options.service], 'x-amz-target': target },
      body,
      now,
    );
  }

  /** POSTs `payload` as `X-Amz-Target: target`; resolves to the parsed JSON body (`unknown`). */
  async call(target: string, payload: unknown, deadline: Deadline): Promise<unknown> {
    const body = JSON.stringify(payload);
    let status: number;
    let text: string;
    try {
      const response = await this.transport.post(this.sign(target, body), body, deadline);
      status = response.status;
      text = response.body.toString('utf8');
    } catch (cause) {
      throw new AwsCallError(`${this.options.service} unreachable`, undefined, undefined, { cause });
    }
    let parsed: unknown;
    try {
      // A 200 always carries a JSON object (a GetItem that found nothing answers `{}`), so an empty
      // 200 is unreadable, never "no item"; an error may come without a body.
      parsed = text.length === 0 && status !== 200 ? {} : JSON.parse(text);
    } catch (cause) {
      throw new AwsCallError(`${this.options.service} answered with invalid JSON`, undefined, status, { cause });
    }
    if (status !== 200) {
      const type = typeof parsed === 'object' && parsed !== null && '__type' in parsed ? String(parsed.__type) : undefined;
      // `__type` is "namespace#ExceptionName" in the JSON protocols.
      const name = type?.slice(type.indexOf('#') + 1);
      throw new AwsCallError(`${this.options.service} call failed: ${name ?? `HTTP ${status}`}`, name, status);
    }
    return parsed;
  }
}
