/**
 * Bench-only floor for the cold start: the least any authorizer of ours must do before its first
 * decision, with nothing else. It imports node:crypto, node:net and node:tls, imports the key from
 * PUBLIC_JWKS, verifies the token's ES256 signature, computes one HMAC and one hash (SigV4 needs
 * them), and makes one HTTP round trip to the DynamoDB stub. No checks beyond that: it is a
 * measuring stick, not an authorizer.
 */
import { createHash, createHmac, createPublicKey, verify } from 'node:crypto';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export async function handler(event: { headers?: Record<string, string | undefined> }): Promise<{ isAuthorized: boolean; context: Record<string, string> }> {
  const jwks = JSON.parse(process.env.PUBLIC_JWKS ?? '{}') as { keys: { x: string; y: string }[] };
  const jwk = jwks.keys[0];
  if (jwk === undefined) throw new Error('no key');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
  const [h = '', p = '', s = ''] = (event.headers?.authorization ?? '').slice(7).split('.');
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) throw new Error('Unauthorized');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { jti?: string };
  const body = JSON.stringify({ RequestItems: { [process.env.TABLE_NAME ?? '']: { Keys: [{ pk: { S: `DENY#JTI#${claims.jti ?? ''}` }, sk: { S: 'DENY' } }] } } });
  const signature = createHmac('sha256', createHmac('sha256', 'key').update('date').digest()).update(createHash('sha256').update(body).digest('hex')).digest('hex');
  const url = new URL(process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '');
  // Like ours, TLS for an https endpoint (AWS); the stub is plain HTTP, but the module is loaded.
  const socket = url.protocol === 'https:' ? tlsConnect({ host: url.hostname, port: Number(url.port || 443) }) : connect({ host: url.hostname, port: Number(url.port) });
  socket.write(
    `POST / HTTP/1.1\r\nhost: ${url.host}\r\nx-amz-target: DynamoDB_20120810.BatchGetItem\r\n` +
      `content-type: application/x-amz-json-1.0\r\nauthorization: ${signature}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const answer = await new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('error', reject);
  });
  socket.destroy();
  if (!answer.toString('latin1').startsWith('HTTP/1.1 200')) throw new Error('DynamoDB stub did not answer 200');
  return { isAuthorized: true, context: {} };
}
