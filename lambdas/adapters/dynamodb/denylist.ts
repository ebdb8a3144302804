/**
 * Single access tokens on the denylist: pk `DENY#JTI#<jti>`, sk `DENY`, expiresAt and ttl at the
 * token's expiry (plus clock skew): after that the token is dead anyway.
 */
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TokenDenylist } from '../../core/ports.ts';
import { DENYLIST_SK, denylistKey } from '../../core/token-model.ts';
import { dynamo } from './errors.ts';
import { N, S } from './items.ts';

export class DynamoDbTokenDenylist implements TokenDenylist {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async denyToken(jti: string, expiresAt: number): Promise<void> {
    await dynamo(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: S(denylistKey.token(jti)), sk: S(DENYLIST_SK), expiresAt: N(expiresAt), ttl: N(expiresAt) },
        }),
      ),
    );
  }
}
