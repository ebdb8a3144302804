/**
 * Users in DynamoDB. Item: pk `USER#<username>`, sk `USER`; attributes sub (UUID), passwordHash
 * (PHC string), scopes (list), status (`active` | `disabled`), createdAt, updatedAt. Users do not
 * expire, so they carry no TTL.
 */
import {
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { UserDirectory, UserRecord, UserStatus } from '../../core/ports.ts';
import { conditional, dynamo } from './errors.ts';
import { N, S, num, str, strList, strListValue, type Item } from './items.ts';

const userKey = (username: string): Item => ({ pk: S(`USER#${username}`), sk: S('USER') });

function toUser(item: Item | undefined): UserRecord | undefined {
  const pk = str(item, 'pk');
  const sub = str(item, 'sub');
  const passwordHash = str(item, 'passwordHash');
  const scopes = strList(item, 'scopes');
  const status = str(item, 'status');
  if (pk === undefined || !pk.startsWith('USER#') || sub === undefined || passwordHash === undefined || scopes === undefined) {
    return undefined;
  }
  if (status !== 'active' && status !== 'disabled') return undefined;
  const flag = item?.['deletionPending'];
  const deletionPending = flag !== undefined && 'BOOL' in flag && flag.BOOL === true;
  const passwordChangedAt = num(item, 'passwordChangedAt');
  return {
    username: pk.slice('USER#'.length),
    sub,
    passwordHash,
    scopes,
    status,
    ...(deletionPending ? { deletionPending } : {}),
    ...(passwordChangedAt === undefined ? {} : { passwordChangedAt }),
  };
}

export class DynamoDbUserDirectory implements UserDirectory {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async findUser(username: string): Promise<UserRecord | undefined> {
    const result = await dynamo(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: userKey(username), ConsistentRead: true })),
    );
    return toUser(result.Item);
  }

  async replacePasswordHash(username: string, previousHash: string, nextHash: string): Promise<boolean> {
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: userKey(username),
          UpdateExpression: 'SET passwordHash = :next, updatedAt = :now, passwordChangedAt = :now',
          ConditionExpression: 'passwordHash = :prev',
          ExpressionAttributeValues: { ':next': S(nextHash), ':prev': S(previousHash), ':now': N(Math.floor(Date.now() / 1000)) },
        }),
      ),
    );
    return result.ok;
  }

  /**
   * Every user, for the operator (`list-users`): a paginated, strongly consistent Scan of the user
   * items, which reads the whole table (families, revocation and throttle items too), so it is an
   * operator's occasional command, never a request path. The password hash is not read.
   */
  async *listUsers(): AsyncGenerator<Omit<UserRecord, 'passwordHash'>> {
    let startKey: Item | undefined;
    do {
      const page = await dynamo(() =>
        this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            FilterExpression: 'sk = :user AND begins_with(pk, :prefix)',
            ProjectionExpression: 'pk, sk, #sub, scopes, #status',
            ExpressionAttributeNames: { '#sub': 'sub', '#status': 'status' },
            ExpressionAttributeValues: { ':user': S('USER'), ':prefix': S('USER#') },
            ...(startKey !== undefined ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        // toUser needs a hash to accept an item; the projection leaves it out on purpose.
        const user = toUser({ ...item, passwordHash: S('') });
        if (user !== undefined) yield { username: user.username, sub: user.sub, scopes: user.scopes, status: user.status };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** Creates a user; false if the username is taken. */
  async createUser(user: UserRecord, nowSeconds: number): Promise<boolean> {
    const result = await conditional(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...userKey(user.username),
            sub: S(user.sub),
            passwordHash: S(user.passwordHash),
            scopes: strListValue(user.scopes),
            status: S(user.status),
            createdAt: N(nowSeconds),
            updatedAt: N(nowSeconds),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    return result.ok;
  }

  /** Updates fields of an existing user; false if there is no such user. */
  async updateUser(
    username: string,
    changes: { status?: UserStatus; scopes?: readonly string[]; passwordHash?: string },
    nowSeconds: number,
  ): Promise<boolean> {
    const sets = ['updatedAt = :now'];
    const values: Item = { ':now': N(nowSeconds) };
    const names: Record<string, string> = {};
    if (changes.status !== undefined) {
      sets.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = S(changes.status);
    }
    if (changes.scopes !== undefined) {
      sets.push('scopes = :scopes');
      values[':scopes'] = strListValue(changes.scopes);
    }
    if (changes.passwordHash !== undefined) {
      sets.push('passwordHash = :hash');
      values[':hash'] = S(changes.passwordHash);
    }
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: userKey(username),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: values,
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
        }),
      ),
    );
    return result.ok;
  }
}
