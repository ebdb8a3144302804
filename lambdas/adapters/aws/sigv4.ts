/**
 * AWS Signature Version 4 for the authorizer's JSON-protocol POSTs ("Create a signed AWS API
 * request", AWS IAM User Guide): canonical request, string to sign, HMAC-SHA256 chain. A few
 * HMACs over node:crypto, synchronous; the derived key is kept for its UTC day. Unit tests check
 * the Authorization header byte for byte against `@smithy/signature-v4` (what the AWS SDK signs
 * with) and `aws4fetch`, so this module never drifts from them.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string | undefined;
}

interface SigningScope {
  readonly service: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
}

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');

export class SigV4Signer {
  private signingKey: { readonly date: string; readonly key: Buffer } | undefined;

  constructor(private readonly scope: SigningScope) {}

  /**
   * Headers for a POST of `body` to `url` carrying `headers` (lower-case names): the given ones
   * plus `host`, `x-amz-date`, `x-amz-security-token` when there is a session token, and
   * `authorization`. Every header sent is signed.
   */
  sign(url: URL, headers: Readonly<Record<string, string>>, body: string, now: Date = new Date()): Record<string, string> {
    const { service, region, credentials } = this.scope;
    const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
    const date = amzDate.slice(0, 8);
    const signed: Record<string, string> = {
      ...headers,
      host: url.host,
      'x-amz-date': amzDate,
      ...(credentials.sessionToken === undefined ? {} : { 'x-amz-security-token': credentials.sessionToken }),
    };
    const names = Object.keys(signed).sort();
    const canonicalRequest = [
      'POST',
      url.pathname || '/',
      url.search.slice(1),
      ...names.map((name) => `${name}:${(signed[name] ?? '').trim()}`),
      '',
      names.join(';'),
      sha256Hex(body),
    ].join('\n');
    const credentialScope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
    const signature = createHmac('sha256', this.keyFor(date)).update(stringToSign, 'utf8').digest('hex');
    signed.authorization =
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, ` +
      `SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return signed;
  }

  private keyFor(date: string): Buffer {
    if (this.signingKey?.date === date) return this.signingKey.key;
    const { service, region, credentials } = this.scope;
    const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
    const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), service), 'aws4_request');
    this.signingKey = { date, key };
    return key;
  }
}
