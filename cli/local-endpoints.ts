/**
 * The local service's endpoints file (`.local-state/endpoints.json`, written by `npm start`), read
 * by `--local`. It is input like any other: parsed by the same duplicate-aware parser as request
 * bodies and narrowed field by field, so a damaged or hand-edited file stops the CLI with a clear
 * message instead of pointing it at `undefined`.
 */
import { DuplicateMemberNameError, parseStrictJson, StrictJsonError } from '../lambdas/core/strict-json.ts';

export interface LocalEndpoints {
  readonly tableName: string;
  readonly dynamodbEndpoint: string;
  readonly kmsEndpoint: string;
  readonly region: string;
}

export function parseLocalEndpoints(text: string, file: string): LocalEndpoints {
  let parsed: unknown;
  try {
    parsed = parseStrictJson(text);
  } catch (error) {
    if (error instanceof DuplicateMemberNameError) throw new Error(`${file} names a member more than once; restart npm start.`);
    if (error instanceof StrictJsonError) throw new Error(`${file} is not valid JSON; restart npm start.`);
    throw error;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file} is not a JSON object; restart npm start.`);
  const record = parsed as Readonly<Record<string, unknown>>;
  const field = (name: keyof LocalEndpoints): string => {
    const value = record[name];
    if (typeof value !== 'string' || value === '') throw new Error(`${file} has no "${name}"; restart npm start.`);
    return value;
  };
  return { tableName: field('tableName'), dynamodbEndpoint: field('dynamodbEndpoint'), kmsEndpoint: field('kmsEndpoint'), region: field('region') };
}
