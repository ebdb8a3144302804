import { describe, expect, it } from 'vitest';
import { RequestRejectedError } from '../../../client/errors.ts';
import { parseSessionList } from '../../../client/sessions.ts';

const session = { sid: 's1', created_at: '2026-11-30T05:00:00.000Z', client_id: 'web', scope: 'read', current: true };

describe('parseSessionList', () => {
  it('maps the service’s snake_case members, with last_refreshed_at only when present', () => {
    expect(parseSessionList({ sessions: [session, { ...session, sid: 's2', current: false, last_refreshed_at: '2026-11-30T05:10:00.000Z' }] }, 200)).toEqual([
      { sid: 's1', createdAt: session.created_at, lastRefreshedAt: undefined, clientId: 'web', scope: 'read', current: true },
      { sid: 's2', createdAt: session.created_at, lastRefreshedAt: '2026-11-30T05:10:00.000Z', clientId: 'web', scope: 'read', current: false },
    ]);
    expect(parseSessionList({ sessions: [] }, 200)).toEqual([]);
  });

  it.each([
    ['no body', undefined],
    ['an array', [session]],
    ['sessions not a list', { sessions: session }],
    ['a session without sid', { sessions: [{ ...session, sid: undefined }] }],
    ['current as a string', { sessions: [{ ...session, current: 'true' }] }],
    ['last_refreshed_at as a number', { sessions: [{ ...session, last_refreshed_at: 5 }] }],
  ])('refuses %s as a whole, never a half-read list', (_name, body) => {
    expect(() => parseSessionList(body, 200)).toThrow(RequestRejectedError);
  });
});
