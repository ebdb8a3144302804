/** The CLI's `--local` state file is parsed like a request body: strict, duplicate-aware, narrowed. */
import { describe, expect, it } from 'vitest';
import { parseLocalEndpoints } from '../../../cli/local-state.ts';

const GOOD = { pid: 4242, tableName: 't', dynamodbEndpoint: 'http://127.0.0.1:8000', kmsEndpoint: 'http://127.0.0.1:9000', region: 'us-east-1', signingKeyArn: 'arn:k' };
const rest = '"dynamodbEndpoint":"d","kmsEndpoint":"k","region":"r","signingKeyArn":"a","pid":1';

describe('parseLocalEndpoints', () => {
  it('reads the file npm start writes', () => {
    expect(parseLocalEndpoints(JSON.stringify(GOOD, null, 2), 'f')).toEqual(GOOD);
  });

  it.each([
    ['a member named twice', `{"tableName":"t","tableName":"prod-users",${rest}}`],
    ['a member named twice in an escaped spelling', `{"tableName":"t","table\\u004eame":"prod-users",${rest}}`],
    ['not JSON', '{"tableName":'],
    ['an array', '[]'],
    ['a missing field (it would have become the string "undefined" in the environment)', '{"tableName":"t","dynamodbEndpoint":"d","kmsEndpoint":"k","pid":1}'],
    ['a field of the wrong type', `{"tableName":1,${rest}}`],
    ['a pid that is not a positive integer', '{"tableName":"t","dynamodbEndpoint":"d","kmsEndpoint":"k","region":"r","signingKeyArn":"a","pid":-1}'],
  ])('refuses %s', (_name, text) => {
    expect(() => parseLocalEndpoints(text, 'f')).toThrow(/f is not a state file written by npm start/);
  });
});
