/**
 * The key registry item (`core/key-registry.ts`) in DynamoDB JSON, both ways; shared by the SDK
 * store (operator CLI, issuers, /revoke, JWKS) and the authorizer's SigV4 reader, whose attribute
 * values have the same shape.
 *
 * Item: pk `KEYS`, sk `KEYS`, `version` (N, the optimistic lock), `keys` (S: the key records as a
 * JSON array, at most 16 records of about 200 bytes, so the item stays far below 4 KB and a
 * strongly consistent read of it is one read unit). No TTL: the registry lives as long as the
 * deployment.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ConfigurationError } from '../../core/errors.ts';
import { isRecord } from '../../core/is-record.ts';
import { KEY_REGISTRY_PK, KEY_REGISTRY_SK, parseKeyRegistry, type KeyRegistry } from '../../core/key-registry.ts';

export const KEY_REGISTRY_KEY = { pk: { S: KEY_REGISTRY_PK }, sk: { S: KEY_REGISTRY_SK } } as const;

/** `undefined` for no item; a `ConfigurationError` for an item this code did not write. */
export function parseKeyRegistryItem(item: unknown): KeyRegistry | undefined {
  if (item === undefined) return undefined;
  const malformed = new ConfigurationError('the key registry item is malformed');
  if (!isRecord(item) || !isRecord(item.version) || !isRecord(item.keys)) throw malformed;
  const version = item.version.N;
  const keys = item.keys.S;
  if (typeof version !== 'string' || !/^\d{1,15}$/.test(version) || typeof keys !== 'string') throw malformed;
  let records: unknown;
  try {
    records = JSON.parse(keys);
  } catch {
    throw malformed;
  }
  return parseKeyRegistry({ version: Number(version), keys: records });
}

export function keyRegistryItem(registry: KeyRegistry): Record<string, AttributeValue> {
  return {
    ...KEY_REGISTRY_KEY,
    version: { N: String(registry.version) },
    keys: { S: JSON.stringify(registry.keys) },
  };
}
