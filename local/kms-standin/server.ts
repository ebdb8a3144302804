/**
 * KMS stand-in: a local HTTP server that speaks the subset of the AWS KMS API this project
 * uses, as the real `@aws-sdk/client-kms` sends it (AWS JSON 1.1: `POST /`,
 * `X-Amz-Target: TrentService.<Operation>`, `Content-Type: application/x-amz-json-1.1`, a JSON
 * body, blobs as base64). Point the SDK at it with the client `endpoint` option or
 * `AWS_ENDPOINT_URL_KMS`.
 *
 * NOT A TRUST BOUNDARY. It listens on loopback only and requires an `Authorization` header
 * that looks like SigV4 for service `kms` (otherwise MissingAuthenticationToken /
 * IncompleteSignature, as KMS answers unsigned requests), but it never checks the signature:
 * any credentials work. The requirement exists so that a client which forgot to sign (or a
 * plain curl) fails here as it would against KMS, not to protect anything. Private keys live in
 * memory and, with `stateFile`, in a 0600 file; they are development keys only.
 *
 * Test hooks, outside the KMS API (no X-Amz-Target reaches them):
 * - `POST /__standin/faults` with a `KmsFault` JSON body, `GET` to list, `DELETE` to clear;
 *   the same as `handle.injectFault()` / `handle.clearFaults()`.
 * - `GET /__standin/calls` (counts per operation), `DELETE /__standin/calls` to reset; the same
 *   as `handle.calls()` / `handle.resetCalls()`. Every request with a known KMS target is
 *   counted, including SDK retries and requests failed by an injected fault.
 *
 * KMS API reference: https://docs.aws.amazon.com/kms/latest/APIReference/
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KMS_ERROR_CODES, KmsError, defaultStatus, isKmsErrorCode } from './errors.ts';
import type { KmsErrorCode } from './errors.ts';
import { KeyStore } from './key-store.ts';
import { createAlias, createKeyRecord, handleOperation, OPERATIONS } from './operations.ts';
import { createSymmetricKey } from './symmetric.ts';
import type { Input, Output } from './operations.ts';
import type { SupportedKeySpec } from './signing.ts';

interface KmsStandinOptions {
  /** 0 or undefined: a random free port. */
  readonly port?: number;
  /** Loopback address to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** Region used in ARNs; default us-east-1. */
  readonly region?: string;
  /** JSON file that keeps keys (PKCS#8 PEM) and aliases across restarts; written with mode 0600. */
  readonly stateFile?: string;
}

/** A failure (or delay) to inject into the next matching KMS requests. */
interface KmsFault {
  /** KMS error code to answer with, e.g. `ThrottlingException`; omit for a delay-only fault. */
  readonly errorType?: KmsErrorCode;
  /** HTTP status; default 500 for server faults (KMSInternalException...), else 400. */
  readonly status?: number;
  readonly message?: string;
  /** Wait this long before answering (with the error, or normally for a delay-only fault). */
  readonly delayMs?: number;
  /** How many matching requests it applies to; omitted: all, until cleared. */
  readonly count?: number;
  /** Only these operations, e.g. `['Sign']`; omitted: every operation. */
  readonly operations?: readonly string[];
}

export interface KmsStandin {
  /** e.g. `http://127.0.0.1:45123` */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  close(): Promise<void>;
  /** Same as CreateKey (KeyUsage SIGN_VERIFY) plus CreateAlias, without counting as calls. */
  createKey(spec: SupportedKeySpec, alias?: string): Promise<{ keyId: string; arn: string }>;
  /** Same as CreateKey of a SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT key, without counting as a call. */
  createSymmetricKey(description?: string): Promise<{ keyId: string; arn: string }>;
  injectFault(fault: KmsFault): void;
  clearFaults(): void;
  faults(): KmsFault[];
  /** Calls per operation since start or the last reset, e.g. `{ Sign: 3, GetPublicKey: 1 }`. */
  calls(): Record<string, number>;
  resetCalls(): void;
}

const TARGET_PREFIX = 'TrentService.';
const MAX_BODY_BYTES = 64 * 1024;
const ADMIN_FAULTS = '/__standin/faults';
const ADMIN_CALLS = '/__standin/calls';
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;
// SigV4 Authorization header (AWS General Reference, "Signature Version 4 signing process"):
// AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/kms/aws4_request, SignedHeaders=..., Signature=<64 hex>
const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=[^/\s,]+\/\d{8}\/[a-z0-9-]+\/kms\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;

interface ActiveFault {
  fault: KmsFault;
  remaining: number | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Narrows an admin request body into a KmsFault; throws a message for the 400 answer. */
function parseFault(value: unknown): KmsFault {
  if (!isRecord(value)) throw new Error('fault must be a JSON object');
  const { errorType, status, message, delayMs, count, operations } = value;
  const fault: {
    errorType?: KmsErrorCode;
    status?: number;
    message?: string;
    delayMs?: number;
    count?: number;
    operations?: string[];
  } = {};
  if (errorType !== undefined) {
    if (typeof errorType !== 'string' || !isKmsErrorCode(errorType)) {
      throw new Error(`errorType must be a KMS error code: ${KMS_ERROR_CODES.join(', ')}`);
    }
    fault.errorType = errorType;
  }
  if (status !== undefined) {
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) throw new Error('status must be an integer 400-599');
    fault.status = status;
  }
  if (message !== undefined) {
    if (typeof message !== 'string' || message.length > 1024) throw new Error('message must be a string of at most 1024 characters');
    fault.message = message;
  }
  if (delayMs !== undefined) {
    if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 300_000) throw new Error('delayMs must be an integer 0-300000');
    fault.delayMs = delayMs;
  }
  if (count !== undefined) {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
    fault.count = count;
  }
  if (operations !== undefined) {
    if (!Array.isArray(operations) || !operations.every((op): op is string => typeof op === 'string' && OPERATIONS.has(op))) {
      throw new Error(`operations must list KMS operations the stand-in implements: ${[...OPERATIONS].join(', ')}`);
    }
    fault.operations = operations;
  }
  if (fault.errorType === undefined && fault.delayMs === undefined) throw new Error('a fault needs errorType, delayMs, or both');
  return fault;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...headers,
  });
  res.end(text);
}

/** An error exactly as KMS sends it on the JSON protocol. */
function sendKmsError(res: ServerResponse, err: KmsError): void {
  sendJson(res, err.status, { __type: err.code, message: err.message }, { 'x-amzn-ErrorType': err.code });
}

export async function startKmsStandin(opts: KmsStandinOptions = {}): Promise<KmsStandin> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) {
    throw new Error(`KMS stand-in listens on loopback only; refusing host ${host}`);
  }
  const region = opts.region ?? 'us-east-1';
  const store = new KeyStore(region, opts.stateFile);
  let activeFaults: ActiveFault[] = [];
  let callCounts: Record<string, number> = {};
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const takeFault = (operation: string): KmsFault | undefined => {
    const active = activeFaults.find((f) => f.fault.operations === undefined || f.fault.operations.includes(operation));
    if (active === undefined) return undefined;
    if (active.remaining !== undefined) {
      active.remaining -= 1;
      if (active.remaining <= 0) activeFaults = activeFaults.filter((f) => f !== active);
    }
    return active.fault;
  };

  const injectFault = (fault: KmsFault): void => {
    activeFaults.push({ fault: parseFault(fault), remaining: fault.count });
  };

  const handleAdmin = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const plain = { 'Content-Type': 'application/json' };
    if (path === ADMIN_CALLS && req.method === 'GET') return sendJson(res, 200, { ...callCounts }, plain);
    if (path === ADMIN_CALLS && req.method === 'DELETE') {
      callCounts = {};
      return sendJson(res, 200, {}, plain);
    }
    if (path === ADMIN_FAULTS && req.method === 'GET') return sendJson(res, 200, activeFaults.map((f) => f.fault), plain);
    if (path === ADMIN_FAULTS && req.method === 'DELETE') {
      activeFaults = [];
      return sendJson(res, 200, {}, plain);
    }
    if (path === ADMIN_FAULTS && req.method === 'POST') {
      let parsed: unknown;
      try {
        parsed = JSON.parse((await readBody(req)).toString('utf8'));
      } catch {
        return sendJson(res, 400, { message: 'body must be a JSON fault object (at most 64 KiB)' }, plain);
      }
      try {
        injectFault(parseFault(parsed));
      } catch (err) {
        return sendJson(res, 400, { message: err instanceof Error ? err.message : 'invalid fault' }, plain);
      }
      return sendJson(res, 200, {}, plain);
    }
    return sendJson(res, 404, { message: `no admin route ${req.method ?? ''} ${path}` }, plain);
  };

  const handleKms = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Common errors, checked before the operation as KMS does
    // (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html).
    const authorization = req.headers['authorization'];
    if (authorization === undefined || authorization === '') {
      throw new KmsError('MissingAuthenticationToken', 'Missing Authentication Token');
    }
    if (!SIGV4.test(authorization) || req.headers['x-amz-date'] === undefined) {
      throw new KmsError(
        'IncompleteSignature',
        'Authorization header requires a SigV4 Credential, SignedHeaders and Signature for service kms, and an X-Amz-Date header.',
      );
    }
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    if (operation === undefined || !OPERATIONS.has(operation)) {
      throw new KmsError('UnknownOperationException', `Unknown operation ${String(target)}`);
    }
    callCounts[operation] = (callCounts[operation] ?? 0) + 1;

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        throw new KmsError('SerializationException', `Request body exceeds ${MAX_BODY_BYTES} bytes`, 413);
      }
      throw err;
    }

    const fault = takeFault(operation);
    if (fault?.delayMs !== undefined) await sleep(fault.delayMs);
    if (fault?.errorType !== undefined) {
      throw new KmsError(
        fault.errorType,
        fault.message ?? `Injected ${fault.errorType} (KMS stand-in fault)`,
        fault.status ?? defaultStatus(fault.errorType),
      );
    }

    let input: unknown = {};
    const text = body.toString('utf8').trim();
    if (text !== '') {
      try {
        input = JSON.parse(text);
      } catch {
        throw new KmsError('SerializationException', 'Request body is not valid JSON');
      }
    }
    if (!isRecord(input)) throw new KmsError('SerializationException', 'Request body must be a JSON object');
    const output: Output = handleOperation(store, operation, input as Input);
    sendJson(res, 200, output);
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const work = path.startsWith('/__standin/')
      ? handleAdmin(req, res, path)
      : req.method === 'POST' && path === '/'
        ? handleKms(req, res)
        : Promise.reject(new KmsError('UnknownOperationException', `KMS accepts only POST /, not ${req.method ?? ''} ${path}`, 404));
    work.catch((err: unknown) => {
      if (err instanceof KmsError) {
        sendKmsError(res, err);
        return;
      }
      // A bug in the stand-in, not bad input: 500 as KMS would, detail on stderr only.
      console.error('KMS stand-in internal error:', err);
      sendKmsError(res, new KmsError('KMSInternalException', 'Internal error in the KMS stand-in', 500));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('KMS stand-in: no TCP address');
  const { port } = address;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    endpoint: `http://${urlHost}:${port}`,
    port,
    region,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    createKey: async (spec, alias) => {
      const record = createKeyRecord(store, { KeySpec: spec, KeyUsage: 'SIGN_VERIFY' });
      if (alias !== undefined) createAlias(store, alias, record.keyId);
      return { keyId: record.keyId, arn: store.keyArn(record.keyId) };
    },
    createSymmetricKey: async (description = '') => {
      const record = createSymmetricKey(store, description);
      return { keyId: record.keyId, arn: store.keyArn(record.keyId) };
    },
    injectFault,
    clearFaults: () => {
      activeFaults = [];
    },
    faults: () => activeFaults.map((f) => f.fault),
    calls: () => ({ ...callCounts }),
    resetCalls: () => {
      callCounts = {};
    },
  };
}
