/**
 * A local HTTP server that plays DynamoDB (BatchGetItem → nothing revoked) and KMS
 * (GetPublicKey for the keys it was given), and counts every call by X-Amz-Target.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';

export interface AwsStub {
  readonly endpoint: string;
  readonly calls: Map<string, number>;
  close(): Promise<void>;
}

export async function startAwsStub(kmsKeys: ReadonlyMap<string, KeyObject>, tableName: string): Promise<AwsStub> {
  const calls = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      calls.set(target, (calls.get(target) ?? 0) + 1);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      if (target === 'DynamoDB_20120810.BatchGetItem') {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ Responses: { [tableName]: [] }, UnprocessedKeys: {} }));
        return;
      }
      const key = kmsKeys.get(String(body.KeyId));
      if (target === 'TrentService.GetPublicKey' && key !== undefined) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            KeyId: body.KeyId,
            KeySpec: 'ECC_NIST_P256',
            KeyUsage: 'SIGN_VERIFY',
            SigningAlgorithms: ['ECDSA_SHA_256'],
            PublicKey: key.export({ format: 'der', type: 'spki' }).toString('base64'),
          }),
        );
        return;
      }
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'NotFoundException', message: 'unknown' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
