/** The CLI's `--local` state file is parsed like a request body: strict, duplicate-aware, narrowed. */
import { describe, expect, it } from 'vitest';
import { parseLocalEndpoints } from '../../../cli/local-endpoints.ts';

const GOOD = { tableName: 't', dynamodbEndpoint: 'http://127.0.0.1:8000', kmsEndpoint: 'http://127.0.0.1:9000', region: 'us-east-1', signingKeyArn: 'arn:k' };

describe('parseLocalEndpoints', () => {
  it('reads the file npm start writes', () => {
    expect(parseLocalEndpoints(JSON.stringify(GOOD, null, 2), 'f')).toEqual({
      tableName: 't',
      dynamodbEndpoint: 'http://127.0.0.1:8000',
      kmsEndpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
    });
  });

  it.each([
    ['a member named twice', '{"tableName":"t","tableName":"prod-users","dynamodbEndpoint":"d","kmsEndpoint":"k","region":"r"}', /more than once/],
    ['a member named twice in an escaped spelling', '{"tableName":"t","table\\u004eame":"prod-users","dynamodbEndpoint":"d","kmsEndpoint":"k","region":"r"}', /more than once/],
    ['not JSON', '{"tableName":', /not valid JSON/],
    ['an array', '[]', /not a JSON object/],
    ['a missing field (it would have become the string "undefined" in the environment)', '{"tableName":"t","dynamodbEndpoint":"d","kmsEndpoint":"k"}', /no "region"/],
    ['a field of the wrong type', '{"tableName":1,"dynamodbEndpoint":"d","kmsEndpoint":"k","region":"r"}', /no "tableName"/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseLocalEndpoints(text, 'f')).toThrow(message);
  });
});
