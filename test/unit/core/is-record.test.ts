import { describe, expect, it } from 'vitest';
import { isRecord } from '../../../lambdas/core/is-record.ts';

describe('isRecord', () => {
  it('accepts plain objects, also ones without a prototype', () => {
    expect(isRecord({})).toBe(true);
    expect(isRecord({ keys: [] })).toBe(true);
    expect(isRecord(Object.create(null))).toBe(true);
  });

  it('refuses null, arrays and every primitive', () => {
    for (const value of [null, undefined, [], [{}], 'x', 1, 0n, true, Symbol('s')]) expect(isRecord(value)).toBe(false);
  });
});
