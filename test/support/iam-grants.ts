/**
 * Compares what a function really calls with what the stack grants it (`lib/function-access.ts`):
 * DynamoDB requests go through the counting proxy, which names the IAM actions they need, and the
 * KMS stand-in counts its operations. A missing grant (AccessDenied in AWS) shows up locally.
 */
import { expect } from 'vitest';
import { FUNCTION_ACCESS, KEY_ACTIONS, MFA_KEY_ACTIONS } from '../../lib/function-access.ts';
import type { KmsStandin } from '../../local/kms-standin/server.ts';
import type { CountingProxy } from './counting-proxy.ts';

export interface SeenActions {
  readonly dynamo: Set<string>;
  readonly kms: string[];
}

/** The actions `action` makes the service send, through `dynamo` and to `kms`. */
export async function observeActions(dynamo: CountingProxy, kms: Pick<KmsStandin, 'calls' | 'resetCalls'>, action: () => Promise<void>): Promise<SeenActions> {
  dynamo.reset();
  kms.resetCalls();
  await action();
  return { dynamo: dynamo.iamActions(), kms: Object.keys(kms.calls()).map((op) => `kms:${op}`) };
}

/** Everything the stack grants function `fn`. */
export function grantedActions(fn: keyof typeof FUNCTION_ACCESS): Set<string> {
  return new Set<string>([...FUNCTION_ACCESS[fn].tableActions, ...KEY_ACTIONS[FUNCTION_ACCESS[fn].keyAccess], ...MFA_KEY_ACTIONS[FUNCTION_ACCESS[fn].mfaKeyAccess]]);
}

/** Asserts that every action seen is granted. */
export function expectWithinGrants(seen: SeenActions, allowed: Set<string>): void {
  for (const action of [...seen.dynamo, ...seen.kms]) expect(allowed, action).toContain(action);
}
