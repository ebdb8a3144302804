/**
 * Narrowing DynamoDB items (attribute-value maps) into domain records. Items are `unknown` until
 * narrowed: a malformed item is treated as absent, never trusted.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

export const S = (value: string): AttributeValue => ({ S: value });
export const N = (value: number): AttributeValue => ({ N: String(value) });

export function str(item: Item | undefined, name: string): string | undefined {
  const value = item?.[name];
  return value !== undefined && 'S' in value && typeof value.S === 'string' ? value.S : undefined;
}

export function num(item: Item | undefined, name: string): number | undefined {
  const value = item?.[name];
  if (value === undefined || !('N' in value) || typeof value.N !== 'string') return undefined;
  const parsed = Number(value.N);
  return Number.isFinite(parsed) ? parsed : undefined;
}

export function strList(item: Item | undefined, name: string): string[] | undefined {
  const value = item?.[name];
  if (value === undefined || !('L' in value) || !Array.isArray(value.L)) return undefined;
  const out: string[] = [];
  for (const entry of value.L) {
    if (!('S' in entry) || typeof entry.S !== 'string') return undefined;
    out.push(entry.S);
  }
  return out;
}

export const strListValue = (values: readonly string[]): AttributeValue => ({ L: values.map((v) => ({ S: v })) });
