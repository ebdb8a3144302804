/**
 * The authorizer's own path to AWS: SigV4 checked byte for byte against the AWS SDK's signer
 * (`@smithy/signature-v4`) and aws4fetch, endpoints checked against the SDK's endpoint rules for
 * every partition with and without FIPS, and the node:https transport against raw sockets.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsV4Signer } from 'aws4fetch';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsJsonClient } from '../../../lambdas/adapters/aws/aws-json-client.ts';
import { withDeadline } from '../../../lambdas/adapters/aws/deadline.ts';
import { partitionOf, resolveEndpoint } from '../../../lambdas/adapters/aws/endpoints.ts';
import { HttpsTransport } from '../../../lambdas/adapters/aws/https-transport.ts';
import { ConfigurationError } from '../../../lambdas/core/errors.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };

const bytes = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

/** The `ChecksumConstructor` the SDK signer takes, over node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

describe('SigV4', () => {
  const now = new Date('2026-11-23T15:40:02.123Z');
  const cases = [
    ['dynamodb', 'https://dynamodb.eu-west-1.amazonaws.com', 'application/x-amz-json-1.0', 'DynamoDB_20120810.BatchGetItem'],
    ['kms', 'http://127.0.0.1:4599', 'application/x-amz-json-1.1', 'TrentService.GetPublicKey'],
    ['kms', 'https://kms-fips.cn-north-1.amazonaws.com.cn/some/path', 'application/x-amz-json-1.1', 'TrentService.GetPublicKey'],
  ] as const;

  it.each(cases)('signs a %s call to %s exactly as @smithy/signature-v4 (the AWS SDK signer) does', async (service, endpoint, contentType, target) => {
    const body = JSON.stringify({ KeyId: 'alias/x', Some: 'thing' });
    const ours = new AwsJsonClient({ service, region: 'eu-west-1', endpoint: new URL(endpoint), credentials }).sign(target, body, now);
    const url = new URL(endpoint);
    const theirs = await new SignatureV4({ service, region: 'eu-west-1', credentials, sha256: NodeSha256, applyChecksum: false }).sign(
      {
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        path: url.pathname,
        query: {},
        headers: { host: url.host, 'content-type': contentType, 'x-amz-target': target },
        body,
      },
      { signingDate: now },
    );
    expect(ours.authorization).toBe(theirs.headers.authorization);
    expect(ours['x-amz-security-token']).toBe(theirs.headers['x-amz-security-token']);
  });

  it.each(cases)('signs a %s call to %s exactly as aws4fetch AwsV4Signer does, signing every header', async (service, endpoint, contentType, target) => {
    const body = JSON.stringify({ KeyId: 'alias/x', Some: 'thing' });
    const ours = new AwsJsonClient({ service, region: 'eu-west-1', endpoint: new URL(endpoint), credentials }).sign(target, body, now);
    const theirs = await new AwsV4Signer({
      method: 'POST',
      url: endpoint,
      headers: { 'content-type': contentType, 'x-amz-target': target },
      body,
      service,
      region: 'eu-west-1',
      datetime: '20261123T154002Z',
      allHeaders: true,
      ...credentials,
    }).sign();
    expect(ours.authorization).toBe(theirs.headers.get('authorization'));
  });
});

describe('endpoints', () => {
  const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'il-central-1', 'mx-central-1', 'cn-north-1', 'cn-northwest-1', 'us-gov-west-1', 'us-gov-east-1'];
  const sdkEndpoint = async (service: 'dynamodb' | 'kms', region: string, fips: boolean): Promise<string> => {
    const params = { Region: region, UseFIPS: fips, UseDualStack: false };
    const provider = service === 'kms' ? new KMSClient({ region }).config.endpointProvider : new DynamoDBClient({ region }).config.endpointProvider;
    try {
      return provider(params).url.href;
    } catch {
      return 'refused';
    }
  };
  const ours = (service: 'dynamodb' | 'kms', region: string, fips: boolean): string => {
    try {
      return resolveEndpoint(service, { AWS_REGION: region, AWS_USE_FIPS_ENDPOINT: String(fips) }).href;
    } catch (error) {
      if (error instanceof ConfigurationError) return 'refused';
      throw error;
    }
  };
  for (const service of ['dynamodb', 'kms'] as const) {
    for (const fips of [false, true]) {
      it(`${service}${fips ? ' with AWS_USE_FIPS_ENDPOINT=true' : ''}: the same endpoint as the AWS SDK in every partition`, async () => {
        for (const region of regions) expect(ours(service, region, fips), region).toBe(await sdkEndpoint(service, region, fips));
      });
    }
  }

  it('uses amazonaws.com.cn in the China partition, where the old https://<service>.<region>.amazonaws.com was wrong', () => {
    expect(resolveEndpoint('kms', { AWS_REGION: 'cn-north-1' }).href).toBe('https://kms.cn-north-1.amazonaws.com.cn/');
    expect(partitionOf('cn-northwest-1').name).toBe('aws-cn');
    expect(partitionOf('us-gov-west-1').name).toBe('aws-us-gov');
  });

  it('prefers AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:9000', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' };
    expect(resolveEndpoint('dynamodb', env).href).toBe('http://127.0.0.1:8000/');
    expect(resolveEndpoint('kms', env).href).toBe('http://127.0.0.1:9000/');
    expect(resolveEndpoint('kms', { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).href).toBe('https://kms.eu-west-1.amazonaws.com/');
  });

  it('refuses, at cold start, what the SDK refuses: FIPS with a custom endpoint, a non-boolean FIPS flag, no region, isolated partitions', () => {
    for (const env of [
      { AWS_REGION: 'eu-west-1', AWS_USE_FIPS_ENDPOINT: 'true', AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:1' },
      { AWS_REGION: 'eu-west-1', AWS_USE_FIPS_ENDPOINT: 'yes' },
      {},
      { AWS_REGION: 'us-iso-east-1' },
      { AWS_REGION: 'EU-WEST-1' },
    ]) {
      expect(() => resolveEndpoint('kms', env), JSON.stringify(env)).toThrow(ConfigurationError);
    }
  });
});

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A raw TCP server: `reply(socket, requestNumber)` writes whatever bytes the test wants. */
async function rawServer(reply: (socket: Socket, n: number) => void): Promise<{ url: URL; connections: () => number }> {
  let n = 0;
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.push(socket);
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(buffered);
      if (end !== -1 && length !== null && buffered.length >= end + 4 + Number(length[1])) {
        buffered = '';
        reply(socket, ++n);
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`), connections: () => connections };
}

const post = (transport: HttpsTransport, ms = 1000, body = '{}') =>
  withDeadline(ms, (deadline) => transport.post({ 'content-type': 'application/json' }, body, deadline));
const transport = (url: URL) => new HttpsTransport(url, { maxResponseBytes: 1 << 20 });

describe('node:https transport', () => {
  it('reads a response and reuses the kept-alive connection', async () => {
    const s = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
    const client = transport(s.url);
    expect((await post(client)).body.toString()).toBe('{}');
    expect((await post(client)).status).toBe(200);
    expect(s.connections()).toBe(1);
  });

  it('reads a chunked response split across writes', async () => {
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":');
      setTimeout(() => socket.write('\r\n2\r\n1}\r\n0\r\n\r\n'), 10);
    });
    const response = await post(transport(s.url));
    expect(response.status).toBe(400);
    expect(response.body.toString()).toBe('{"a":1}');
  });

  it('never hands one request the answer meant for another: bytes after a response are not read as the next one', async () => {
    // A server that answers the first request twice (a smuggled second response on the same
    // keep-alive socket). The second request must get its own answer, "2", never the extra "X".
    const s = await rawServer((socket, n) => {
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nX');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2');
    });
    const client = transport(s.url);
    expect((await post(client)).body.toString()).toBe('1');
    const second = await post(client).then((r) => r.body.toString(), () => 'failed');
    expect(second).not.toBe('X');
  });

  it('refuses chunked framing it cannot trust: no CRLF after a chunk, or Content-Length too', async () => {
    for (const [name, raw] of [
      ['no CRLF after chunk data', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n'],
      ['both framings', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n2\r\n{}\r\n0\r\n\r\n'],
    ] as const) {
      const s = await rawServer((socket) => socket.write(raw));
      await expect(post(transport(s.url)), name).rejects.toThrow();
    }
  });

  it('sends once more on a fresh connection when a kept-alive one was closed by the server', async () => {
    // The race: the server closes the idle connection just as the next request arrives on it.
    const s = await rawServer((socket, n) => {
      if (n === 2) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
    });
    const client = transport(s.url);
    await post(client);
    expect((await post(client)).status).toBe(200);
    expect(s.connections()).toBe(2);
  });

  it('does not resend when a new connection fails', async () => {
    const s = await rawServer((socket) => socket.destroy());
    await expect(post(transport(s.url))).rejects.toThrow(/request failed/);
    expect(s.connections()).toBe(1);
  });

  it('rejects at the deadline when the server never answers', async () => {
    const s = await rawServer(() => undefined);
    const start = Date.now();
    await expect(post(transport(s.url), 100)).rejects.toThrow(/deadline/);
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it('rejects a malformed status line', async () => {
    const s = await rawServer((socket) => socket.write('HTTX/1.1 200 OK\r\n\r\n'));
    await expect(post(transport(s.url))).rejects.toThrow();
  });

  it('rejects a response larger than the cap', async () => {
    const s = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n${'x'.repeat(5000)}`));
    await expect(withDeadline(1000, (d) => new HttpsTransport(s.url, { maxResponseBytes: 1000 }).post({}, '{}', d))).rejects.toThrow(/too large/);
  });

  it('rejects when nothing listens', async () => {
    await expect(post(transport(new URL('http://127.0.0.1:1/')))).rejects.toThrow();
  });
});
