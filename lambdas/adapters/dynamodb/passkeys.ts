/**
 * Passkeys: pk `SUB#<sub>` (the user's partition, so erasing an account erases them), sk
 * `PASSKEY#<credential id, base64url>`; attributes publicKey (COSE_Key, binary), counter,
 * transports, backedUp, deviceType, username, name, createdAt, lastUsedAt (epoch seconds).
 *
 * The signature counter (WebAuthn §6.1.1) is written with a condition, so a stale count is refused
 * even when two assertions race:
 *
 *   t0  stored counter 7; the genuine authenticator sends 8, a clone of it also sends 8
 *   t1  both send  SET counter = 8 IF counter < 8
 *   t2  DynamoDB applies one, then the other finds counter = 8 and fails: one sign-in, not two.
 *
 * Authenticators that do not count (always 0) write `IF counter = 0`: nothing to compare, and the
 * passkey must still exist (a passkey removed while its sign-in was verified is refused).
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { PasskeyStore, PasskeyUse, StoredPasskey } from '../../core/ports.ts';
import { conditional, dynamo } from './errors.ts';
import { queryAll } from './query-all.ts';
import { N, S, num, str, strList, strListValue, type Item } from './items.ts';

const SK_PREFIX = 'PASSKEY#';
const passkeyKey = (sub: string, credentialId: string): Item => ({ pk: S(`SUB#${sub}`), sk: S(`${SK_PREFIX}${credentialId}`) });

/** Reads a passkey item (`unknown` until narrowed); `undefined` when it is malformed. */
function toPasskey(item: Item | undefined): StoredPasskey | undefined {
  const pk = str(item, 'pk');
  const sk = str(item, 'sk');
  const publicKey: AttributeValue | undefined = item?.['publicKey'];
  const backedUp: AttributeValue | undefined = item?.['backedUp'];
  const fields = {
    counter: num(item, 'counter'),
    transports: strList(item, 'transports'),
    deviceType: str(item, 'deviceType'),
    username: str(item, 'username'),
    name: str(item, 'name'),
    createdAt: num(item, 'createdAt'),
  };
  if (pk === undefined || !pk.startsWith('SUB#') || sk === undefined || !sk.startsWith(SK_PREFIX)) return undefined;
  if (publicKey === undefined || !('B' in publicKey) || !(publicKey.B instanceof Uint8Array)) return undefined;
  if (backedUp === undefined || !('BOOL' in backedUp) || typeof backedUp.BOOL !== 'boolean') return undefined;
  const { counter, transports, deviceType, username, name, createdAt } = fields;
  if (counter === undefined || transports === undefined || username === undefined || name === undefined || createdAt === undefined) return undefined;
  if (deviceType !== 'singleDevice' && deviceType !== 'multiDevice') return undefined;
  return {
    sub: pk.slice('SUB#'.length),
    credentialId: sk.slice(SK_PREFIX.length),
    publicKey: publicKey.B,
    counter,
    transports,
    backedUp: backedUp.BOOL,
    deviceType,
    username,
    name,
    createdAt,
    lastUsedAt: num(item, 'lastUsedAt'),
  };
}

export class DynamoDbPasskeys implements PasskeyStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async list(sub: string): Promise<readonly StoredPasskey[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': S(`SUB#${sub}`), ':prefix': S(SK_PREFIX) },
      ConsistentRead: true,
    });
    return items.map(toPasskey).filter((passkey) => passkey !== undefined);
  }

  async find(sub: string, credentialId: string): Promise<StoredPasskey | undefined> {
    const result = await dynamo(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: passkeyKey(sub, credentialId), ConsistentRead: true })),
    );
    return toPasskey(result.Item);
  }

  async add(passkey: StoredPasskey): Promise<boolean> {
    const result = await conditional(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...passkeyKey(passkey.sub, passkey.credentialId),
            publicKey: { B: passkey.publicKey },
            counter: N(passkey.counter),
            transports: strListValue(passkey.transports),
            backedUp: { BOOL: passkey.backedUp },
            deviceType: S(passkey.deviceType),
            username: S(passkey.username),
            name: S(passkey.name),
            createdAt: N(passkey.createdAt),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    return result.ok;
  }

  async recordUse(sub: string, credentialId: string, use: PasskeyUse): Promise<boolean> {
    const counting = use.counter > 0;
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: passkeyKey(sub, credentialId),
          UpdateExpression: 'SET #counter = :counter, backedUp = :backedUp, lastUsedAt = :now',
          ConditionExpression: counting ? 'attribute_exists(pk) AND #counter < :counter' : 'attribute_exists(pk) AND #counter = :counter',
          ExpressionAttributeNames: { '#counter': 'counter' },
          ExpressionAttributeValues: { ':counter': N(use.counter), ':backedUp': { BOOL: use.backedUp }, ':now': N(use.nowSeconds) },
        }),
      ),
    );
    return result.ok;
  }

  async remove(sub: string, credentialId: string): Promise<boolean> {
    const result = await conditional(() =>
      this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: passkeyKey(sub, credentialId), ConditionExpression: 'attribute_exists(pk)' }),
      ),
    );
    return result.ok;
  }
}
