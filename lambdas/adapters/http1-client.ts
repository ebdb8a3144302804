/**
 * A minimal HTTP/1.1 client (RFC 9112) over node:net / node:tls, for the authorizer's two AWS
 * endpoints. Why not node:http: its client machinery costs ~7 ms extra on the first request of
 * a fresh process (measured here: first POST ~12 ms through `http.request`, ~5 ms on a raw
 * socket), and that first request sits on the cold start of every API the authorizer protects.
 *
 * Scope, deliberately small: POST with a complete body; responses framed by Content-Length or
 * chunked transfer coding (RFC 9112 §6.3, §7.1), or by connection close; keep-alive with a small
 * idle pool; a request that fails on a reused (possibly stale) socket before any response byte is
 * retried once on a fresh one. Anything it does not understand is an error, and every error
 * reaches the caller, which fails closed.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Deadline } from './deadline.ts';

export interface Http1Response {
  readonly status: number;
  readonly body: Buffer;
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_IDLE_SOCKETS = 4;
const HEADER_END = Buffer.from('\r\n\r\n');
/** Anything happening on an idle connection ends it. */
const IDLE_EVENTS = ['error', 'close', 'end', 'data'] as const;

export class Http1Client {
  private readonly idle: Socket[] = [];
  private readonly idleDrops = new WeakMap<Socket, () => void>();
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;

  constructor(private readonly url: URL) {
    this.secure = url.protocol === 'https:';
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port === '' ? (this.secure ? 443 : 80) : Number(url.port);
  }

  async post(headers: Readonly<Record<string, string>>, body: string, deadline: Deadline, maxBytes: number): Promise<Http1Response> {
    const payload = Buffer.from(body, 'utf8');
    let head = `POST ${this.url.pathname || '/'}${this.url.search} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error('header with a line break');
      head += `${name}: ${value}\r\n`;
    }
    head += `content-length: ${payload.length}\r\nconnection: keep-alive\r\n\r\n`;
    const request = Buffer.concat([Buffer.from(head, 'latin1'), payload]);
    const reused = this.idle.pop();
    if (reused !== undefined) {
      try {
        return await this.exchange(reused, request, deadline, maxBytes);
      } catch (error) {
        if (!(error instanceof StaleSocketError) || deadline.expired) throw error;
      }
    }
    return this.exchange(this.open(), request, deadline, maxBytes);
  }

  /**
   * Opens a connection now (TCP, and TLS for https) so that the first request finds it ready:
   * at cold start the handshake then overlaps with loading keys instead of following it. A
   * failed or closed pre-connection is simply dropped (the request opens another).
   */
  preconnect(): void {
    if (this.idle.length > 0) return;
    this.keepIdle(this.open());
  }

  /**
   * Parks a socket in the idle pool. Nothing may arrive on an idle connection, so any data, end,
   * close or error drops it (and `exchange` takes these listeners off before reusing it).
   */
  private keepIdle(socket: Socket): void {
    const drop = (): void => {
      const index = this.idle.indexOf(socket);
      if (index !== -1) this.idle.splice(index, 1);
      socket.destroy();
    };
    for (const event of IDLE_EVENTS) socket.once(event, drop);
    this.idleDrops.set(socket, drop);
    this.idle.push(socket);
  }

  /** Takes a socket out of idle duty: only our own listeners go (Node's stay). */
  private unpark(socket: Socket): void {
    const drop = this.idleDrops.get(socket);
    if (drop === undefined) return;
    for (const event of IDLE_EVENTS) socket.off(event, drop);
    this.idleDrops.delete(socket);
  }

  private open(): Socket {
    const socket = this.secure
      ? tlsConnect({ host: this.host, port: this.port, servername: this.host, ALPNProtocols: ['http/1.1'] })
      : netConnect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    return socket;
  }

  private exchange(socket: Socket, request: Buffer, deadline: Deadline, maxBytes: number): Promise<Http1Response> {
    return new Promise((resolve, reject) => {
      let received: Buffer = Buffer.alloc(0);
      let gotBytes = false;
      let settled = false;
      let stopWaitingForDeadline = (): void => undefined;
      const finish = (error: Error | undefined, response?: Http1Response, keep = false): void => {
        if (settled) return;
        settled = true;
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.off('end', onEnd);
        stopWaitingForDeadline();
        if (keep && this.idle.length < MAX_IDLE_SOCKETS && !socket.destroyed) {
          this.keepIdle(socket);
        } else {
          socket.destroy();
        }
        if (error !== undefined) reject(error);
        else if (response !== undefined) resolve(response);
      };
      const onAbort = (): void => finish(new Error('request aborted (deadline)'));
      const onError = (error: Error): void => finish(gotBytes ? error : new StaleSocketError(error));
      const onClose = (): void => {
        const complete = gotBytes ? parseResponse(received, true, maxBytes) : undefined;
        if (complete instanceof Error) finish(complete);
        else if (complete !== undefined) finish(undefined, complete.response);
        else finish(gotBytes ? new Error('connection closed mid-response') : new StaleSocketError(new Error('connection closed')));
      };
      const onEnd = (): void => onClose();
      const onData = (chunk: Buffer): void => {
        gotBytes = true;
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        const parsed = parseResponse(received, false, maxBytes);
        if (parsed instanceof Error) finish(parsed);
        else if (parsed !== undefined) finish(undefined, parsed.response, parsed.keepAlive);
      };
      if (deadline.expired) {
        finish(new Error('request aborted (deadline)'));
        return;
      }
      stopWaitingForDeadline = deadline.onExpire(onAbort);
      // An idle socket kept listeners that drop it; take them off before reuse.
      this.unpark(socket);
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.on('end', onEnd);
      socket.write(request);
    });
  }
}

class StaleSocketError extends Error {
  constructor(cause: Error) {
    super('connection failed before any response byte', { cause });
    this.name = 'StaleSocketError';
  }
}

/**
 * `undefined` while incomplete; an Error when malformed or too large. `closed`: the peer closed,
 * which completes a response framed by connection close (RFC 9112 §6.3 rule 8).
 */
function parseResponse(
  data: Buffer,
  closed: boolean,
  maxBytes: number,
): { response: Http1Response; keepAlive: boolean } | Error | undefined {
  if (data.length > maxBytes + MAX_HEADER_BYTES) return new Error('response too large');
  const headerEnd = data.indexOf(HEADER_END);
  if (headerEnd === -1) return data.length > MAX_HEADER_BYTES ? new Error('response header too large') : undefined;
  const lines = data.subarray(0, headerEnd).toString('latin1').split('\r\n');
  const statusMatch = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (statusMatch === null) return new Error('malformed status line');
  const status = Number(statusMatch[1]);
  let contentLength: number | undefined;
  let chunked = false;
  let keepAlive = (lines[0] ?? '').startsWith('HTTP/1.1');
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return new Error('malformed header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d+$/.test(value) || (contentLength !== undefined && contentLength !== Number(value))) return new Error('bad content-length');
      contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      if (value.toLowerCase() !== 'chunked') return new Error('unsupported transfer-encoding');
      chunked = true;
    } else if (name === 'connection') {
      keepAlive = !value.toLowerCase().split(',').some((token) => token.trim() === 'close');
    }
  }
  const rest = data.subarray(headerEnd + 4);
  // RFC 9112 §6.3: both framings at once is how responses get smuggled; refuse it.
  if (chunked && contentLength !== undefined) return new Error('both Transfer-Encoding and Content-Length');
  if (chunked) {
    const body = decodeChunked(rest, maxBytes);
    if (body instanceof Error || body === undefined) return body;
    return { response: { status, body }, keepAlive };
  }
  if (contentLength !== undefined) {
    if (contentLength > maxBytes) return new Error('response too large');
    if (rest.length < contentLength) return undefined;
    if (rest.length > contentLength) return new Error('bytes after the response');
    return { response: { status, body: rest }, keepAlive };
  }
  if (status === 204 || status === 304) return { response: { status, body: Buffer.alloc(0) }, keepAlive };
  return closed ? { response: { status, body: rest }, keepAlive: false } : undefined;
}

/** RFC 9112 §7.1: chunk-size [ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF. */
function decodeChunked(data: Buffer, maxBytes: number): Buffer | Error | undefined {
  const parts: Buffer[] = [];
  let total = 0;
  let pos = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', pos);
    if (lineEnd === -1) return undefined;
    const sizeText = data.subarray(pos, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return new Error('bad chunk size');
    const size = parseInt(sizeText, 16);
    pos = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n\r\n', pos - 2);
      if (trailerEnd === -1) return undefined;
      // As with Content-Length: a byte after the response would be read as the next one's.
      if (trailerEnd + 4 !== data.length) return new Error('bytes after the response');
      return Buffer.concat(parts, total);
    }
    total += size;
    if (total > maxBytes) return new Error('response too large');
    if (data.length < pos + size + 2) return undefined;
    if (data[pos + size] !== 0x0d || data[pos + size + 1] !== 0x0a) return new Error('malformed chunk');
    parts.push(data.subarray(pos, pos + size));
    pos += size + 2;
  }
}
