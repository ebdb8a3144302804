/**
 * Trusted devices (device tokens): pk `DEVICE#<SHA-256 of the token, base64url>`, sk `DEVICE`;
 * attributes username, attempts (since the last correct password), expiresAt (ms), ttl (s). The
 * token itself is never stored. The policy is in `core/login-throttle.ts`.
 *
 * Timeline of a burst presenting one device token (max 5 attempts):
 *
 *   t0  attempts = 0; N requests send  ADD attempts 1 IF username = :u AND expiresAt > now AND attempts < 5
 *   t1  five pass (attempts = 5); the rest fail the condition: not trusted, counted as untrusted instead
 *   t2  a correct password from the device: SET attempts = 0 IF username = :u AND expiresAt > now
 *
 * DynamoDB applies conditional writes to one item one at a time, so no more than 5 attempts per
 * device are ever checked between correct passwords.
 */
import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TrustedDevices } from '../../core/ports.ts';
import { conditional, dynamo } from './errors.ts';
import { N, S, type Item } from './items.ts';

const deviceKey = (hash: string): Item => ({ pk: S(`DEVICE#${hash}`), sk: S('DEVICE') });

export class DynamoDbTrustedDevices implements TrustedDevices {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async countAttempt(hash: string, username: string, maxAttempts: number, nowMs: number): Promise<boolean> {
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: deviceKey(hash),
          UpdateExpression: 'ADD attempts :one',
          ConditionExpression: 'username = :u AND expiresAt > :now AND attempts < :max',
          ExpressionAttributeValues: { ':one': N(1), ':u': S(username), ':now': N(nowMs), ':max': N(maxAttempts) },
        }),
      ),
    );
    return result.ok;
  }

  async renew(hash: string, username: string, nowMs: number, expiresAtMs: number): Promise<boolean> {
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: deviceKey(hash),
          UpdateExpression: 'SET attempts = :zero, expiresAt = :exp, #ttl = :ttl',
          ConditionExpression: 'username = :u AND expiresAt > :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':zero': N(0),
            ':u': S(username),
            ':now': N(nowMs),
            ':exp': N(expiresAtMs),
            ':ttl': N(Math.ceil(expiresAtMs / 1000)),
          },
        }),
      ),
    );
    return result.ok;
  }

  async remember(hash: string, username: string, expiresAtMs: number): Promise<void> {
    await dynamo(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...deviceKey(hash),
            username: S(username),
            attempts: N(0),
            expiresAt: N(expiresAtMs),
            ttl: N(Math.ceil(expiresAtMs / 1000)),
          },
          // 256 random bits never collide; the condition only makes sure no write ever rebinds a device.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }
}
