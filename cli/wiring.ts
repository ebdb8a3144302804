/** Builds the operator's dependencies from the environment (the same settings the Lambdas read). */
import { randomBytes } from 'node:crypto';
import type { EnvRecord } from '../lambdas/config/env.ts';
import { LONGEST_LIFETIMES } from '../lambdas/config/issuer.ts';
import { Argon2idHasher, OWASP_ARGON2ID } from '../lambdas/core/passwords.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { createDynamoDbClient, createKmsClient, createStores } from '../lambdas/adapters/runtime.ts';
import { DynamoDbKeyRegistry } from '../lambdas/adapters/dynamodb/key-registry.ts';
import type { KeyOperatorDeps } from './key-rotation.ts';
import { requireString } from '../lambdas/config/env.ts';
import type { OperatorDeps } from './operations.ts';

/** `dynamo`: a client of the caller's (`npm start` and tests point it at DynamoDB Local). */
export function createOperatorDeps(env: EnvRecord, dynamo: DynamoDBClient = createDynamoDbClient()): OperatorDeps {
  return {
    stores: createStores(requireString(env, 'TABLE_NAME'), dynamo),
    passwords: new Argon2idHasher(OWASP_ARGON2ID, (n) => randomBytes(n)),
    // Denylist entries must outlive every token they stop, and the operator's shell does not know
    // the deployment's lifetimes: use the longest any deployment may configure (entries then
    // live a little longer than needed, never shorter).
    config: LONGEST_LIFETIMES,
  };
}

/** What `rotate-key` and `list-keys` run on: the table's key registry and KMS (endpoints from the environment). */
export function createKeyOperatorDeps(
  env: EnvRecord,
  dynamo: DynamoDBClient = createDynamoDbClient(),
  kms: KMSClient = createKmsClient(),
): KeyOperatorDeps {
  const tableName = requireString(env, 'TABLE_NAME');
  return { registry: new DynamoDbKeyRegistry(dynamo, tableName), kms, deployment: tableName, nowMs: () => Date.now() };
}
