/**
 * Maps DynamoDB SDK failures to the domain: anything that is not an expected condition failure
 * (throttling, timeouts, 5xx, a stopped endpoint) is `DependencyUnavailableError` → 503.
 * See "Error handling with DynamoDB" in the DynamoDB Developer Guide for the retryable errors.
 */
import { DependencyUnavailableError } from '../../core/errors.ts';

function isNamed(error: unknown, name: string): error is Error & Record<string, unknown> {
  return error instanceof Error && error.name === name;
}

export async function dynamo<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new DependencyUnavailableError('DynamoDB', error);
  }
}

/** Runs a conditional write; a failed condition returns the old item (ALL_OLD) instead of throwing. */
export async function conditional<T>(
  operation: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; oldItem: Record<string, unknown> | undefined }> {
  try {
    return { ok: true, value: await operation() };
  } catch (error) {
    if (isNamed(error, 'ConditionalCheckFailedException')) {
      const item = error['Item'];
      return { ok: false, oldItem: typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : undefined };
    }
    throw new DependencyUnavailableError('DynamoDB', error);
  }
}

/** The item a cancelled TransactWriteItems reports for action `index` (ReturnValuesOnConditionCheckFailure: ALL_OLD). */
export function cancellationItem(error: unknown, index: number): Record<string, unknown> | undefined {
  if (!isNamed(error, 'TransactionCanceledException')) return undefined;
  const reasons = error['CancellationReasons'];
  const reason: unknown = Array.isArray(reasons) ? reasons[index] : undefined;
  if (typeof reason !== 'object' || reason === null || !('Item' in reason)) return undefined;
  const item = reason.Item;
  return typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : undefined;
}

/** Reasons of a cancelled TransactWriteItems, one per item in order ("None" for items that passed). */
export function cancellationCodes(error: unknown): string[] | undefined {
  if (!isNamed(error, 'TransactionCanceledException')) return undefined;
  const reasons = error['CancellationReasons'];
  if (!Array.isArray(reasons)) return [];
  return reasons.map((reason: unknown) =>
    typeof reason === 'object' && reason !== null && 'Code' in reason && typeof reason.Code === 'string' ? reason.Code : 'Unknown',
  );
}
