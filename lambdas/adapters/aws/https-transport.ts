/**
 * The authorizer's HTTP transport: Node's own `https` (or `http`, for the local stand-ins)
 * client with a keep-alive agent, so the warm path is one request on an open connection and the
 * HTTP/1.1 framing is Node's (llhttp), not ours. The shape follows aws-jwt-verify's
 * `src/https-node.ts`: one request, a response-time budget, the body collected up to a cap.
 *
 * Loaded with `createRequire` on purpose: an ESM `import` of `node:http`/`node:https` on Node 22
 * and 24 evaluates the module namespace, whose lazy getters pull in undici (~20 ms of every cold
 * start); `require` does not touch them.
 *
 * Stale connections: a kept-alive socket may have been closed by the server (or died while the
 * Lambda container was frozen). When a request on a REUSED socket fails before any response
 * byte, it is sent once more on a new connection (Node's documentation of
 * `request.reusedSocket` recommends exactly this); the callers' requests are reads, so a
 * repeat is harmless. Every other failure reaches the caller, which fails closed.
 */
import { createRequire } from 'node:module';
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Deadline } from './deadline.ts';

interface HttpModule {
  readonly Agent: new (options: { keepAlive: boolean; maxSockets: number }) => Agent;
  request(url: URL, options: RequestOptions, callback: (response: IncomingMessage) => void): ClientRequest;
}

const load = createRequire(import.meta.url);

export interface HttpResponse {
  readonly status: number;
  readonly body: Buffer;
}

class TransportError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

interface HttpsTransportOptions {
  /** A response body larger than this is refused (and its connection dropped). */
  readonly maxResponseBytes: number;
  /** Concurrent connections to the endpoint; an authorizer container serves one event at a time. */
  readonly maxSockets?: number;
}

export class HttpsTransport {
  private readonly http: HttpModule;
  private readonly agent: Agent;

  constructor(
    private readonly url: URL,
    private readonly options: HttpsTransportOptions,
  ) {
    this.http = load(url.protocol === 'https:' ? 'node:https' : 'node:http') as HttpModule;
    this.agent = new this.http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  }

  async post(headers: Readonly<Record<string, string>>, body: string, deadline: Deadline): Promise<HttpResponse> {
    try {
      return await this.once(headers, body, deadline);
    } catch (error) {
      if (!(error instanceof TransportError) || !error.retryable || deadline.expired) throw error;
      return this.once(headers, body, deadline);
    }
  }

  private once(headers: Readonly<Record<string, string>>, body: string, deadline: Deadline): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let responded = false;
      let stopWaiting = (): void => undefined;
      const fail = (error: TransportError): void => {
        if (settled) return;
        settled = true;
        stopWaiting();
        // Destroying the request destroys its socket, so the agent never hands it out again.
        request.destroy();
        reject(error);
      };
      const request = this.http.request(
        this.url,
        { method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
        (response) => {
          responded = true;
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.options.maxResponseBytes) fail(new TransportError('response too large', false));
            else chunks.push(chunk);
          });
          response.on('error', (cause) => fail(new TransportError('response failed', false, { cause })));
          response.on('end', () => {
            if (settled) return;
            settled = true;
            stopWaiting();
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks, size) });
          });
        },
      );
      request.on('error', (cause) => {
        // Only a kept-alive socket that failed before answering is worth a second try.
        fail(new TransportError('request failed', request.reusedSocket && !responded, { cause }));
      });
      if (deadline.expired) {
        fail(new TransportError('request aborted (deadline)', false));
        return;
      }
      stopWaiting = deadline.onExpire(() => fail(new TransportError('request aborted (deadline)', false)));
      request.end(body);
    });
  }
}
