/**
 * Production wiring, built once per container at module scope (outside the handler, so every warm
 * invocation reuses the clients and their open connections).
 * The SDK clients take their endpoints from the standard settings: `AWS_ENDPOINT_URL_DYNAMODB` /
 * `AWS_ENDPOINT_URL_KMS` ("Service-specific endpoints" in the AWS SDKs and Tools Reference Guide),
 * which is how `npm start` points the unchanged code at DynamoDB Local and the KMS stand-in.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { parseIssuerConfig, requireString, type EnvRecord, type IssuerConfig } from '../core/config.ts';
import { ConfigurationError } from '../core/errors.ts';
import { CountingLoginThrottle } from '../core/login-throttle.ts';
import { Argon2idHasher, OWASP_ARGON2ID } from '../core/passwords.ts';
import type { Clock, RandomSource } from '../core/ports.ts';
import { DynamoDbRevocations } from './dynamodb/denylist.ts';
import { DynamoDbSessionStore } from './dynamodb/session-store.ts';
import { DynamoDbThrottleCounters } from './dynamodb/throttle-counters.ts';
import { DynamoDbTrustedDevices } from './dynamodb/trusted-devices.ts';
import { DynamoDbUserDirectory } from './dynamodb/user-directory.ts';
import { KmsPublicKeySet } from './kms/public-key-loader.ts';
import { sdkGetPublicKey } from './kms/sdk-get-public-key.ts';
import { KmsSigner } from './kms/signer.ts';

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
export const systemRandom: RandomSource = { bytes: (length) => randomBytes(length) };

/**
 * Timeouts short enough that a hung dependency becomes a 503 well inside the Lambda timeout; one
 * retry (the SDK's standard mode backs off with jitter) for transient throttling.
 */
const CLIENT_SETTINGS = {
  maxAttempts: 2,
  // throwOnRequestTimeout: recent Smithy handlers only log a warning on requestTimeout otherwise.
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
} as const;

export function createDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient(CLIENT_SETTINGS);
}

export function createKmsClient(): KMSClient {
  return new KMSClient(CLIENT_SETTINGS);
}

export function parseKeyIds(env: EnvRecord, name: string): string[] {
  const ids = requireString(env, name)
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0) throw new ConfigurationError(`${name} must list at least one KMS key.`);
  return ids;
}

export interface Stores {
  readonly tableName: string;
  readonly dynamo: DynamoDBClient;
  readonly sessions: DynamoDbSessionStore;
  readonly users: DynamoDbUserDirectory;
  readonly denylist: DynamoDbRevocations;
  readonly throttleCounters: DynamoDbThrottleCounters;
  readonly trustedDevices: DynamoDbTrustedDevices;
}

export function createStores(env: EnvRecord, dynamo: DynamoDBClient = createDynamoDbClient()): Stores {
  const tableName = requireString(env, 'TABLE_NAME');
  return {
    tableName,
    dynamo,
    sessions: new DynamoDbSessionStore(dynamo, tableName),
    users: new DynamoDbUserDirectory(dynamo, tableName),
    denylist: new DynamoDbRevocations(dynamo, tableName),
    throttleCounters: new DynamoDbThrottleCounters(dynamo, tableName),
    trustedDevices: new DynamoDbTrustedDevices(dynamo, tableName),
  };
}

export function createIssuerRuntime(env: EnvRecord, overrides: { dynamo?: DynamoDBClient; kms?: KMSClient } = {}) {
  const config: IssuerConfig = parseIssuerConfig(env);
  const kms = overrides.kms ?? createKmsClient();
  const stores = createStores(env, overrides.dynamo);
  return {
    config,
    kms,
    ...stores,
    signer: new KmsSigner(kms, requireString(env, 'SIGNING_KEY_ID'), config.alg),
    passwords: new Argon2idHasher(OWASP_ARGON2ID, (n) => randomBytes(n)),
    throttle: new CountingLoginThrottle(stores.throttleCounters, stores.trustedDevices, systemRandom),
    clock: systemClock,
    random: systemRandom,
  };
}

export function createVerifyKeySet(env: EnvRecord, kms: KMSClient): KmsPublicKeySet {
  return new KmsPublicKeySet(sdkGetPublicKey(kms), parseKeyIds(env, 'VERIFY_KEY_IDS'));
}
