/**
 * The bench's learnt revocation read (bench/read-shape.ts) and its read-unit rule
 * (bench/dynamodb-proxy.ts): the reference and the floor must send exactly what ours sent, with
 * another token's claims, whichever operation ours uses.
 */
import { describe, expect, it } from 'vitest';
import { fillReadShape, itemsOf, learnReadShape, PROBE_CLAIMS, revokes } from '../../../bench/read-shape.ts';
import { unitsByRule } from '../../../bench/dynamodb-proxy.ts';

const other = { jti: 'j-2', sid: 's-2', sub: 'u-2' };
const batch = (c: { jti: string; sid: string; sub: string }) => ({
  RequestItems: {
    auth: {
      Keys: [`DENY#JTI#${c.jti}`, `DENY#SID#${c.sid}`, `DENY#SUB#${c.sub}`].map((pk) => ({ pk: { S: pk }, sk: { S: 'DENY' } })),
      ConsistentRead: true,
      ProjectionExpression: '#pk, #expiresAt',
      ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': 'expiresAt' },
    },
  },
});

describe('bench read shape', () => {
  it('replays a BatchGetItem of three keys with another token’s claims', () => {
    const shape = learnReadShape('DynamoDB_20120810.BatchGetItem', JSON.stringify(batch(PROBE_CLAIMS)));
    expect(shape.operation).toBe('BatchGetItem');
    expect(fillReadShape(shape.template, other)).toEqual(batch(other));
  });

  it('replays a GetItem of one key, claims inside a longer string included', () => {
    const get = (sub: string) => ({ TableName: 'auth', Key: { pk: { S: `REVOKED#${sub}#v1` }, sk: { S: 'STATE' } }, ConsistentRead: true });
    const shape = learnReadShape('DynamoDB_20120810.GetItem', JSON.stringify(get(PROBE_CLAIMS.sub)));
    expect(shape.operation).toBe('GetItem');
    expect(fillReadShape(shape.template, other)).toEqual(get('u-2'));
  });

  it('refuses a read that names none of the token’s claims (nothing to replay per token)', () => {
    expect(() => learnReadShape('DynamoDB_20120810.GetItem', JSON.stringify({ TableName: 'auth', Key: { pk: { S: 'X' } } }))).toThrow(/names none/);
  });

  it('reads items from either answer and applies the denylist rule', () => {
    const now = 1000;
    const user = { pk: { S: 'DENY#SUB#u' }, expiresAt: { N: '2000' }, notBefore: { N: '900' } };
    expect(itemsOf('BatchGetItem', { Responses: { auth: [user] } })).toEqual([user]);
    expect(itemsOf('GetItem', {})).toEqual([]);
    expect(revokes(user, 900, now)).toBe(true); // auth_time <= notBefore
    expect(revokes(user, 901, now)).toBe(false); // logged in after the logout
    expect(revokes({ ...user, expiresAt: { N: '1000' } }, 800, now)).toBe(false); // expired entry
  });
});

describe('read units by AWS’s rule', () => {
  it('counts every key of a strongly consistent batch, present or not, and one GetItem as one', () => {
    expect(unitsByRule('BatchGetItem', batch(other))).toBe(3);
    expect(unitsByRule('GetItem', { ConsistentRead: true })).toBe(1);
    expect(unitsByRule('GetItem', {})).toBe(0.5);
    expect(Number.isNaN(unitsByRule('Query', {}))).toBe(true);
  });
});
