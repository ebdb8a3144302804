/**
 * An `Authorizer` wired to in-memory collaborators: a key source that counts its loads, a
 * denylist that counts reads (and can be told to fail), a pinned clock and captured logs.
 */
import { Authorizer } from '../../../lambdas/authorizer/authorizer.ts';
import type { AuthorizerConfig } from '../../../lambdas/config/authorizer.ts';
import type { DenylistReader } from '../../../lambdas/core/ports.ts';
import { PublicKeyRing } from '../../../lambdas/adapters/kms/public-key-source.ts';
import { NO_REVOCATIONS, withRevocation, type RevocationChange, type StoredRevocationState } from '../../../lambdas/core/denylist-policy.ts';
import { DependencyUnavailableError } from '../../../lambdas/core/errors.ts';
import { parseRouteRequirements } from '../../../lambdas/core/route-requirements.ts';
import type { PublicKeySource, VerificationKey } from '../../../lambdas/core/ports.ts';
import { AUD, ISS, NOW, policyFor } from '../verifier/token-factory.ts';
import type { TestKey } from '../verifier/token-factory.ts';

export class CountingKeySource implements PublicKeySource {
  loads = 0;
  constructor(public keys: TestKey[]) {}
  load(): Promise<Map<string, VerificationKey>> {
    this.loads++;
    return Promise.resolve(new Map(this.keys.map((k) => [k.kid, k.verificationKey])));
  }
}

export class InMemoryDenylist implements DenylistReader {
  readonly states = new Map<string, StoredRevocationState>();
  reads = 0;
  failure: Error | undefined;
  read(sub: string): Promise<StoredRevocationState> {
    this.reads++;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.resolve(this.states.get(sub) ?? NO_REVOCATIONS);
  }
  /** Applies `change` to the user's state the way the writers do (core `withRevocation`). */
  revoke(sub: string, change: RevocationChange, nowSeconds = NOW - 1): void {
    const state = this.states.get(sub) ?? NO_REVOCATIONS;
    if (state === 'unreadable') throw new Error('unreadable state');
    this.states.set(sub, withRevocation(state, change, nowSeconds));
  }
  failWith(error: Error = new DependencyUnavailableError('DynamoDB')): void {
    this.failure = error;
  }
}

export interface Harness {
  readonly authorizer: Authorizer;
  readonly source: CountingKeySource;
  readonly ring: PublicKeyRing;
  readonly denylist: InMemoryDenylist;
  readonly logs: Record<string, unknown>[];
  readonly clock: { now: number; ms: number };
}

export function makeConfig(overrides: Partial<AuthorizerConfig> = {}): AuthorizerConfig {
  return {
    tableName: 'auth',
    policy: policyFor(['ES256', 'RS256']),
    publicJwks: undefined,
    verifyKeyIds: ['alias/test'],
    additionalVerifyKeyIds: [],
    routeRequirements: parseRouteRequirements({ 'GET /admin': ['admin'] }),
    responseMode: 'simple',
    denylistCacheSeconds: 0,
    ...overrides,
  };
}

export function makeHarness(keys: TestKey[], overrides: Partial<AuthorizerConfig> = {}): Harness {
  const clock = { now: NOW, ms: NOW * 1000 };
  const source = new CountingKeySource(keys);
  const ring = new PublicKeyRing(source, { reloadCooldownMs: 60_000, failureBackoffMs: 1000, nowMs: () => clock.ms });
  const denylist = new InMemoryDenylist();
  const logs: Record<string, unknown>[] = [];
  const authorizer = new Authorizer({
    config: makeConfig(overrides),
    keyRing: ring,
    denylist,
    nowSeconds: () => clock.now,
    log: (entry) => logs.push(entry),
  });
  return { authorizer, source, ring, denylist, logs, clock };
}

export { authorizerEvent as event } from '../../support/events.ts';

export { AUD, ISS, NOW };
