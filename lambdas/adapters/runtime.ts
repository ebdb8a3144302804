/**
 * Production dependencies, built from parsed settings once per container at module scope
 * (outside the handler, so every warm invocation reuses the clients and their open connections);
 * tests and `npm start` build them the same way with clients of their own.
 * The SDK clients take their endpoints from the standard settings: `AWS_ENDPOINT_URL_DYNAMODB` /
 * `AWS_ENDPOINT_URL_KMS` ("Service-specific endpoints" in the AWS SDKs and Tools Reference Guide),
 * which is how `npm start` points the unchanged code at DynamoDB Local and the KMS stand-in.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';
import type { AccountFunctionConfig } from '../config/account.ts';
import type { IssuingFunctionConfig, LoginFunctionConfig } from '../config/issuer.ts';
import { CountingLoginThrottle } from '../core/login-throttle.ts';
import { Argon2idHasher, OWASP_ARGON2ID } from '../core/passwords.ts';
import type { Clock, RandomSource } from '../core/ports.ts';
import { DynamoDbAccountEraser } from './dynamodb/account-eraser.ts';
import { DynamoDbRevocations } from './dynamodb/denylist.ts';
import { DynamoDbSecondFactors } from './dynamodb/second-factors.ts';
import { DynamoDbPasskeys } from './dynamodb/passkeys.ts';
import { DynamoDbSessionStore } from './dynamodb/session-store.ts';
import { DynamoDbThrottleCounters } from './dynamodb/throttle-counters.ts';
import { DynamoDbTrustedDevices } from './dynamodb/trusted-devices.ts';
import { DynamoDbUserDirectory } from './dynamodb/user-directory.ts';
import { DynamoDbWebAuthnChallenges } from './dynamodb/webauthn-challenges.ts';
import { KmsSecretSealer } from './kms/secret-sealer.ts';
import { DynamoDbKeyRegistry } from './dynamodb/key-registry.ts';
import { RegistryKeyRing, VERIFIER_RING_OPTIONS, type DeployTimeKeys, type RegistryKeyRingOptions } from './kms/registry-key-ring.ts';
import { RegistrySigner } from './kms/registry-signer.ts';
import { sdkGetPublicKey } from './kms/sdk-get-public-key.ts';

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

/** `settings`: region, endpoint or credentials of the caller's (`npm start`: the local stand-ins). */
export function createDynamoDbClient(settings: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ ...CLIENT_SETTINGS, ...settings });
}

export function createKmsClient(settings: KMSClientConfig = {}): KMSClient {
  return new KMSClient({ ...CLIENT_SETTINGS, ...settings });
}

export interface Stores {
  readonly tableName: string;
  readonly dynamo: DynamoDBClient;
  readonly sessions: DynamoDbSessionStore;
  readonly users: DynamoDbUserDirectory;
  readonly denylist: DynamoDbRevocations;
  readonly throttleCounters: DynamoDbThrottleCounters;
  readonly trustedDevices: DynamoDbTrustedDevices;
  readonly secondFactors: DynamoDbSecondFactors;
  readonly eraser: DynamoDbAccountEraser;
  readonly passkeys: DynamoDbPasskeys;
  readonly challenges: DynamoDbWebAuthnChallenges;
  /** The signing-key registry (`core/key-registry.ts`). */
  readonly keyRegistry: DynamoDbKeyRegistry;
}

export function createStores(tableName: string, dynamo: DynamoDBClient = createDynamoDbClient()): Stores {
  return {
    tableName,
    dynamo,
    sessions: new DynamoDbSessionStore(dynamo, tableName),
    users: new DynamoDbUserDirectory(dynamo, tableName),
    denylist: new DynamoDbRevocations(dynamo, tableName),
    throttleCounters: new DynamoDbThrottleCounters(dynamo, tableName),
    trustedDevices: new DynamoDbTrustedDevices(dynamo, tableName),
    secondFactors: new DynamoDbSecondFactors(dynamo, tableName),
    eraser: new DynamoDbAccountEraser(dynamo, tableName),
    passkeys: new DynamoDbPasskeys(dynamo, tableName),
    challenges: new DynamoDbWebAuthnChallenges(dynamo, tableName),
    keyRegistry: new DynamoDbKeyRegistry(dynamo, tableName),
  };
}

/** The SDK clients the issuing functions use; `npm start` passes its own (local endpoints). */
export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly kms: KMSClient;
}

export function createAwsClients(): AwsClients {
  return { dynamo: createDynamoDbClient(), kms: createKmsClient() };
}

export type IssuerRuntime = ReturnType<typeof createIssuerRuntime>;

export function createIssuerRuntime(settings: IssuingFunctionConfig, clients: AwsClients = createAwsClients()) {
  const config = settings.policy;
  const { kms } = clients;
  const stores = createStores(settings.tableName, clients.dynamo);
  return {
    config,
    kms,
    ...stores,
    // The registry's signing key (read per token), else the deploy-time key.
    signer: new RegistrySigner(kms, stores.keyRegistry, settings.signingKeyId, config.alg, {
      tokenLifetimeSeconds: config.accessTokenTtlSeconds + config.clockSkewSeconds,
      clock: systemClock,
    }),
    passwords: new Argon2idHasher(OWASP_ARGON2ID, (n) => randomBytes(n)),
    throttle: new CountingLoginThrottle(stores.throttleCounters, stores.trustedDevices, systemRandom),
    clock: systemClock,
    random: systemRandom,
  };
}

/** The login function: the issuer's dependencies plus the sealer that opens TOTP secrets. */
export function createLoginRuntime(settings: LoginFunctionConfig, clients: AwsClients = createAwsClients()) {
  return { ...createIssuerRuntime(settings, clients), sealer: new KmsSecretSealer(clients.kms, settings.mfaKeyId) };
}

/**
 * What the account function runs on: the stores, the password hasher, the login throttle (which
 * re-authentication and wrong TOTP codes spend), the sealer of TOTP secrets, the revocation
 * lifetimes, clock and randomness.
 */
export function createAccountRuntime(settings: AccountFunctionConfig, clients: AwsClients = createAwsClients()) {
  const stores = createStores(settings.tableName, clients.dynamo);
  return {
    ...stores,
    config: settings.policy,
    throttle: new CountingLoginThrottle(stores.throttleCounters, stores.trustedDevices, systemRandom),
    kms: clients.kms,
    sealer: new KmsSecretSealer(clients.kms, settings.mfaKeyId),
    passwords: new Argon2idHasher(OWASP_ARGON2ID, (n) => randomBytes(n)),
    clock: systemClock,
    random: systemRandom,
  };
}

/**
 * The verification keys of /revoke and JWKS: the key registry's verifying keys, else the
 * deploy-time list (`VERIFY_KEY_IDS`), read through the SDK.
 */
export function createVerificationKeyRing(
  tableName: string,
  keys: DeployTimeKeys,
  clients: AwsClients,
  options: RegistryKeyRingOptions = VERIFIER_RING_OPTIONS,
): RegistryKeyRing {
  return new RegistryKeyRing(new DynamoDbKeyRegistry(clients.dynamo, tableName), sdkGetPublicKey(clients.kms), keys, options);
}
