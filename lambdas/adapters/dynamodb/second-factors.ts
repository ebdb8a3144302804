/**
 * Whether a user has a second factor: a confirmed TOTP factor is an item under the user's
 * partition, pk `SUB#<sub>`, whose sk begins with `FACTOR#TOTP`. One strongly consistent Query of
 * at most one key (a factor just confirmed counts at once).
 */
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecondFactors } from '../../core/ports.ts';
import { dynamo } from './errors.ts';
import { S } from './items.ts';

export const TOTP_FACTOR_SK_PREFIX = 'FACTOR#TOTP';

export class DynamoDbSecondFactors implements SecondFactors {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async hasSecondFactor(sub: string): Promise<boolean> {
    const result = await dynamo(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :factor)',
          ExpressionAttributeValues: { ':pk': S(`SUB#${sub}`), ':factor': S(TOTP_FACTOR_SK_PREFIX) },
          ProjectionExpression: 'pk',
          ConsistentRead: true,
          Limit: 1,
        }),
      ),
    );
    return (result.Items?.length ?? 0) > 0;
  }
}
