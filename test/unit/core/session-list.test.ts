import { describe, expect, it } from 'vitest';
import type { RefreshFamily } from '../../../lambdas/core/ports.ts';
import { sessionViews } from '../../../lambdas/core/session-list.ts';

const family = (sid: string, authTime: number, rotatedAt?: number): RefreshFamily => ({
  sub: 'sub-1',
  fid: `fid-${sid}`,
  sid,
  username: 'demo',
  scope: 'read',
  amr: ['pwd'],
  clientId: 'client-a',
  authTime,
  expiresAt: authTime + 3600,
  absoluteExpiresAt: authTime + 86_400,
  generation: rotatedAt === undefined ? 0 : 1,
  ...(rotatedAt === undefined ? {} : { rotatedAt }),
});

describe('sessionViews', () => {
  it('shows sid, ISO 8601 times, client and scope, oldest first, and nothing of the family id', () => {
    const views = sessionViews([family('b', 1_700_000_100, 1_700_000_200), family('a', 1_700_000_000)], 'b');
    expect(views).toEqual([
      { sid: 'a', created_at: '2023-11-14T22:13:20.000Z', client_id: 'client-a', scope: 'read', current: false },
      { sid: 'b', created_at: '2023-11-14T22:15:00.000Z', last_refreshed_at: '2023-11-14T22:16:40.000Z', client_id: 'client-a', scope: 'read', current: true },
    ]);
    expect(JSON.stringify(views)).not.toContain('fid-');
  });

  it('marks no session current when the token has no sid', () => {
    expect(sessionViews([family('a', 1_700_000_000)], undefined).map((v) => v.current)).toEqual([false]);
  });
});
