/**
 * The revocation read, learnt from our authorizer rather than restated: the bench sends one token
 * with recognisable `jti`, `sid` and `sub` through a recording proxy, keeps the DynamoDB operation
 * and request body our authorizer sent, and turns those three values into placeholders. The
 * reference and the floor then send that same request (same operation, same keys, same
 * projection, same consistency) for each token, so they always read exactly what ours reads, even
 * when ours changes how it reads (a BatchGetItem of several keys, or a GetItem of one).
 */

/** Claim values of the probe token; unlikely to appear anywhere else in a request. */
export const PROBE_CLAIMS = { jti: 'bench-probe-jti-7f3a', sid: 'bench-probe-sid-7f3a', sub: 'bench-probe-sub-7f3a' } as const;

type ClaimName = keyof typeof PROBE_CLAIMS;
const NAMES = Object.keys(PROBE_CLAIMS) as ClaimName[];
const MARK = (name: ClaimName): string => `@@bench:${name}@@`;

export interface ReadShape {
  /** The DynamoDB operation, e.g. `BatchGetItem` or `GetItem`. */
  readonly operation: string;
  /** The request body with the probe's claim values replaced by placeholders. */
  readonly template: unknown;
}

/** From what our authorizer sent for the probe token. */
export function learnReadShape(target: string, body: string): ReadShape {
  const operation = target.slice(target.indexOf('.') + 1);
  let text = body;
  for (const name of NAMES) text = text.split(PROBE_CLAIMS[name]).join(MARK(name));
  if (!NAMES.some((name) => text.includes(MARK(name)))) throw new Error(`the ${operation} request names none of the token's claims`);
  return { operation, template: JSON.parse(text) as unknown };
}

/** The request for one token's claims. */
export function fillReadShape(template: unknown, claims: Readonly<Record<ClaimName, string>>): unknown {
  if (typeof template === 'string') {
    if (!template.includes("@@bench:")) return template;
    let out = template;
    for (const name of NAMES) out = out.split(MARK(name)).join(claims[name]);
    return out;
  }
  if (Array.isArray(template)) return template.map((value: unknown) => fillReadShape(value, claims));
  if (typeof template === 'object' && template !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) out[fillReadShape(key, claims) as string] = fillReadShape(value, claims);
    return out;
  }
  return template;
}

/** The items a read answered with, whichever operation it was. */
export function itemsOf(operation: string, response: unknown): Record<string, unknown>[] {
  if (typeof response !== 'object' || response === null) throw new Error('unreadable DynamoDB answer');
  const r = response as { Item?: unknown; Items?: unknown; Responses?: unknown };
  const records = (list: unknown): Record<string, unknown>[] =>
    (Array.isArray(list) ? list : []).filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  if (operation === 'GetItem') return r.Item === undefined ? [] : records([r.Item]);
  if (operation === 'Query') return records(r.Items);
  if (operation === 'TransactGetItems') return records(records(r.Responses).map((x) => x.Item).filter((x) => x !== undefined));
  if (operation === 'BatchGetItem') return Object.values((r.Responses ?? {}) as Record<string, unknown>).flatMap(records);
  throw new Error(`no reading of ${operation} answers`);
}

/**
 * The revocation rule every denylist entry follows (README "Table design"): an entry stands until
 * `expiresAt`; one with `notBefore` (logout everywhere) revokes tokens with `auth_time <= notBefore`.
 */
export function revokes(item: Record<string, unknown>, authTime: number, now: number): boolean {
  const num = (name: string): number | undefined => {
    const value = item[name] as { N?: unknown } | undefined;
    return typeof value?.N === 'string' ? Number(value.N) : undefined;
  };
  const expiresAt = num('expiresAt');
  if (expiresAt !== undefined && expiresAt <= now) return false;
  const notBefore = num('notBefore');
  return notBefore === undefined || authTime <= notBefore;
}
