/**
 * Bench-only floor: the least any authorizer of ours must do per decision, with nothing else. It
 * imports node:crypto, node:net and node:tls (TLS for an https endpoint, as on AWS; DynamoDB
 * Local is plain HTTP, but the module is loaded), imports the key from PUBLIC_JWKS, verifies the
 * signature with `crypto.verify`, signs the request the SigV4 way (the signing key derived once;
 * per request a body hash, a canonical-request hash and one HMAC) and makes one HTTP/1.1 round
 * trip on a kept-alive socket, sending the same read as ours (env `REFERENCE_READ`, see
 * bench/read-shape.ts). No claim checks, no revocation rule: a measuring stick, not an authorizer.
 */
import { constants, createHash, createHmac, createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { fillReadShape } from './read-shape.ts';
import type { ReadShape } from './read-shape.ts';

interface State {
  readonly key: KeyObject;
  readonly ec: boolean;
  readonly url: URL;
  readonly read: ReadShape;
  readonly signingKey: Buffer;
  socket: Socket | undefined;
}
let state: State | undefined;

function init(): State {
  const jwks = JSON.parse(process.env.PUBLIC_JWKS ?? '{}') as { keys: Record<string, string>[] };
  const jwk = jwks.keys[0];
  if (jwk === undefined) throw new Error('no key');
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const hmac = (k: string | Buffer, data: string): Buffer => createHmac('sha256', k).update(data).digest();
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${process.env.AWS_SECRET_ACCESS_KEY ?? ''}`, day), process.env.AWS_REGION ?? ''), 'dynamodb'), 'aws4_request');
  return { key, ec: jwk.kty === 'EC', url: new URL(process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ''), read: JSON.parse(process.env.REFERENCE_READ ?? '{}') as ReadShape, signingKey, socket: undefined };
}

function roundTrip(s: State, request: string): Promise<string> {
  const socket = (s.socket ??=
    s.url.protocol === 'https:' ? tlsConnect({ host: s.url.hostname, port: Number(s.url.port || 443) }) : connect({ host: s.url.hostname, port: Number(s.url.port) }));
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = received.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      const body = received.subarray(end + 4);
      if (length !== null ? body.length < Number(length[1]) : !body.toString('latin1').endsWith('0\r\n\r\n')) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve(head.slice(0, 12));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(request);
  });
}

export async function handler(event: { headers?: Record<string, string | undefined> }): Promise<{ isAuthorized: boolean; context: Record<string, string> }> {
  const s = (state ??= init());
  const [h = '', p = '', sig = ''] = (event.headers?.authorization ?? '').slice(7).split('.');
  const options = s.ec ? { key: s.key, dsaEncoding: 'ieee-p1363' as const } : { key: s.key, padding: constants.RSA_PKCS1_PADDING };
  if (!verify('sha256', Buffer.from(`${h}.${p}`), options, Buffer.from(sig, 'base64url'))) throw new Error('Unauthorized');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { jti: string; sid: string; sub: string };
  const body = JSON.stringify(fillReadShape(s.read.template, claims));
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const canonical = `POST\n/\n\nhost:${s.url.host}\nx-amz-date:${amzDate}\nx-amz-target:DynamoDB_20120810.${s.read.operation}\n\nhost;x-amz-date;x-amz-target\n${bodyHash}`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${amzDate.slice(0, 8)}/${process.env.AWS_REGION ?? ''}/dynamodb/aws4_request\n${createHash('sha256').update(canonical).digest('hex')}`;
  const signature = createHmac('sha256', s.signingKey).update(toSign).digest('hex');
  const status = await roundTrip(
    s,
    `POST / HTTP/1.1\r\nhost: ${s.url.host}\r\nx-amz-date: ${amzDate}\r\nx-amz-target: DynamoDB_20120810.${s.read.operation}\r\n` +
      `content-type: application/x-amz-json-1.0\r\nauthorization: AWS4-HMAC-SHA256 Credential=${process.env.AWS_ACCESS_KEY_ID ?? ''}/${amzDate.slice(0, 8)}/${process.env.AWS_REGION ?? ''}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${signature}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  if (status !== 'HTTP/1.1 200') throw new Error(`DynamoDB answered ${status}`);
  return { isAuthorized: true, context: {} };
}

/** Closes the kept-alive socket (the in-process warm bench ends with it). */
export function close(): void {
  state?.socket?.destroy();
}
