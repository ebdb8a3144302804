import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Client } from '../../../lambdas/adapters/http1-client.ts';
import { withDeadline } from '../../../lambdas/adapters/deadline.ts';

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

const post = (client: Http1Client, ms = 1000) =>
  withDeadline(ms, (deadline) => client.post({ host: 'x', 'content-type': 'application/json' }, '{}', deadline, 1 << 20));

describe('minimal HTTP/1.1 client', () => {
  it('reads a Content-Length response and reuses the connection', async () => {
    const s = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
    const client = new Http1Client(s.url);
    expect((await post(client)).body.toString()).toBe('{}');
    expect((await post(client)).status).toBe(200);
    expect(s.connections()).toBe(1);
  });

  it('reads a chunked response split across writes', async () => {
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":');
      setTimeout(() => socket.write('\r\n2\r\n1}\r\n0\r\n\r\n'), 10);
    });
    const response = await post(new Http1Client(s.url));
    expect(response).toMatchObject({ status: 400 });
    expect(response.body.toString()).toBe('{"a":1}');
  });

  it('reads a response framed by connection close', async () => {
    const s = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"x":1}'));
    expect((await post(new Http1Client(s.url))).body.toString()).toBe('{"x":1}');
  });

  it('retries once on a fresh connection when a kept-alive one was closed by the server', async () => {
    // The race the retry exists for: the server closes the idle connection just as the next
    // request arrives on it, without a byte of answer.
    const s = await rawServer((socket, n) => {
      if (n === 2) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
    });
    const client = new Http1Client(s.url);
    await post(client);
    expect((await post(client)).status).toBe(200);
    expect(s.connections()).toBe(2);
  });

  it('rejects at the deadline when the server never answers', async () => {
    const s = await rawServer(() => undefined);
    await expect(post(new Http1Client(s.url), 100)).rejects.toThrow(/aborted/);
  });

  it('rejects a malformed status line', async () => {
    const s = await rawServer((socket) => socket.write('HTTX/1.1 200 OK\r\n\r\n'));
    await expect(post(new Http1Client(s.url))).rejects.toThrow(/status line/);
  });

  it('rejects a response larger than the cap', async () => {
    const s = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n`));
    await expect(post(new Http1Client(s.url))).rejects.toThrow(/too large/);
  });

  it('refuses chunked framing it cannot trust: no CRLF after a chunk, bytes after the end, or Content-Length too', async () => {
    for (const [name, raw] of [
      ['no CRLF after chunk data', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n'],
      ['bytes after the last chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nHTTP/1.1 200 OK'],
      ['both framings', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n2\r\n{}\r\n0\r\n\r\n'],
    ] as const) {
      const s = await rawServer((socket) => socket.write(raw));
      await expect(post(new Http1Client(s.url)), name).rejects.toThrow(/malformed chunk|bytes after|both Transfer-Encoding/);
    }
  });

  it('keeps Node\'s own socket listeners when it reuses a connection', async () => {
    const s = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
    const client = new Http1Client(s.url);
    client.preconnect();
    const idle = (client as unknown as { idle: import('node:net').Socket[] }).idle[0];
    expect(idle).toBeDefined();
    const before = idle?.listenerCount('end') ?? 0;
    await post(client);
    await post(client);
    // The idle-drop listeners are swapped, not every listener: the count is back where it was.
    expect(idle?.listenerCount('end')).toBe(before);
    expect(s.connections()).toBe(1);
  });

  it('rejects when nothing listens', async () => {
    await expect(post(new Http1Client(new URL('http://127.0.0.1:1/')))).rejects.toThrow();
  });
});
