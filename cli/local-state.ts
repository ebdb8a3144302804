/**
 * The state file through which `npm start` tells the operator CLI where its DynamoDB Local and KMS
 * stand-in listen (`--local`). `npm start` writes it once everything is ready and removes it when
 * it stops; the file also names the pid that wrote it, so a file left behind by a run that was
 * killed outright is recognised as stale instead of sending the CLI to a dead endpoint.
 */
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { EnvRecord } from '../lambdas/config/env.ts';
import { parseStrictJson, StrictJsonError } from '../lambdas/core/strict-json.ts';

export const LOCAL_STATE_FILE = 'endpoints.json';

export interface LocalEndpoints {
  /** The `npm start` process that wrote the file. */
  readonly pid: number;
  readonly tableName: string;
  readonly dynamodbEndpoint: string;
  readonly kmsEndpoint: string;
  readonly region: string;
  readonly signingKeyArn: string;
}

class LocalStateError extends Error {
  override readonly name = 'LocalStateError';
}

/** `.local-state/` in the working directory, or `KMS_JWT_AUTH_STATE_DIR`. */
export function localStateDir(env: EnvRecord): string {
  const dir = env['KMS_JWT_AUTH_STATE_DIR']?.trim();
  return dir !== undefined && dir !== '' ? dir : '.local-state';
}

function localStateFile(env: EnvRecord): string {
  return join(localStateDir(env), LOCAL_STATE_FILE);
}

/**
 * The file is input like any other: parsed by the duplicate-aware parser request bodies use and
 * narrowed field by field, so a damaged or hand-edited file stops the CLI with a clear message
 * instead of pointing it at `undefined` or at the second of two `tableName`s.
 */
export function parseLocalEndpoints(contents: string, file: string): LocalEndpoints {
  const bad = (): LocalStateError =>
    new LocalStateError(`${file} is not a state file written by npm start; delete it and start the service with npm start.`);
  let value: unknown;
  try {
    value = parseStrictJson(contents);
  } catch (error) {
    if (error instanceof StrictJsonError) throw bad();
    throw error;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad();
  const record = value as Record<string, unknown>;
  const text = (name: string): string => {
    const field = record[name];
    if (typeof field !== 'string' || field === '') throw bad();
    return field;
  };
  const pid = record['pid'];
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) throw bad();
  return {
    pid,
    tableName: text('tableName'),
    dynamodbEndpoint: text('dynamodbEndpoint'),
    kmsEndpoint: text('kmsEndpoint'),
    region: text('region'),
    signingKeyArn: text('signingKeyArn'),
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}

function endpointAnswers(endpoint: string, timeoutMs: number): Promise<boolean> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 80) });
    const done = (answers: boolean): void => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The endpoints of the running `npm start`, or a `LocalStateError` saying in one sentence why
 * there is none: no file, a file that is not ours, or a file naming a process (or endpoints)
 * that are gone.
 */
export async function readLiveLocalEndpoints(env: EnvRecord): Promise<LocalEndpoints> {
  const file = localStateFile(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new LocalStateError(`No local service found (${file} does not exist); start it with npm start.`);
  }
  const endpoints = parseLocalEndpoints(text, file);
  const alive =
    processAlive(endpoints.pid) &&
    (await endpointAnswers(endpoints.dynamodbEndpoint, 2_000)) &&
    (await endpointAnswers(endpoints.kmsEndpoint, 2_000));
  if (!alive) {
    throw new LocalStateError(
      `The local service recorded in ${file} (pid ${endpoints.pid}) is not running; start it with npm start.`,
    );
  }
  return endpoints;
}
