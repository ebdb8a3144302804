/**
 * WebAuthn challenges: pk `WEBAUTHN#<challenge, base64url>`, sk `CHALLENGE`; attributes purpose
 * (`registration` | `authentication`), sub (registration only), expiresAt and ttl (epoch seconds,
 * at most five minutes ahead: DynamoDB's TTL deletion lags, so the condition checks the expiry).
 *
 * Timeline of two responses to one challenge arriving together:
 *
 *   t0  both send  DeleteItem IF attribute_exists(pk) AND purpose = :p [AND sub = :s] AND expiresAt > :now
 *   t1  DynamoDB applies them one at a time: the first deletes the item, the second finds no item
 *       and fails its condition. Exactly one response goes on to be verified.
 */
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WebAuthnCeremony, WebAuthnChallenges } from '../../core/ports.ts';
import { conditional, dynamo } from './errors.ts';
import { N, S, type Item } from './items.ts';

const challengeKey = (challenge: string): Item => ({ pk: S(`WEBAUTHN#${challenge}`), sk: S('CHALLENGE') });

export class DynamoDbWebAuthnChallenges implements WebAuthnChallenges {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async issue(challenge: string, ceremony: WebAuthnCeremony, expiresAt: number): Promise<void> {
    await dynamo(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...challengeKey(challenge),
            purpose: S(ceremony.purpose),
            ...(ceremony.purpose === 'registration' ? { sub: S(ceremony.sub) } : {}),
            expiresAt: N(expiresAt),
            ttl: N(expiresAt),
          },
          // 256 random bits never collide; the condition only makes sure no write rebinds a challenge.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async consume(challenge: string, ceremony: WebAuthnCeremony, nowSeconds: number): Promise<boolean> {
    const bySub = ceremony.purpose === 'registration';
    const result = await conditional(() =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: challengeKey(challenge),
          ConditionExpression: `attribute_exists(pk) AND purpose = :p AND expiresAt > :now${bySub ? ' AND #sub = :sub' : ''}`,
          ...(bySub ? { ExpressionAttributeNames: { '#sub': 'sub' } } : {}),
          ExpressionAttributeValues: { ':p': S(ceremony.purpose), ':now': N(nowSeconds), ...(bySub ? { ':sub': S(ceremony.sub) } : {}) },
        }),
      ),
    );
    return result.ok;
  }
}
