/**
 * DynamoDB Local launcher, and the DynamoDB behaviours the stores rely on, checked against
 * AWS's own emulator (DynamoDB Local 2.9.30 from amplify-dynamodb-simulator@2.9.30).
 *
 * Observed with DynamoDB Local 2.9.30 (and documented for DynamoDB, see
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 * and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html):
 * - A TransactWriteItems whose condition fails throws TransactionCanceledException with
 *   CancellationReasons: one entry per item, in request order; `{ Code: 'None' }` for the items
 *   that did not fail and `{ Code: 'ConditionalCheckFailed', Message: 'The conditional request
 *   failed' }` for the failing one. Nothing is written.
 * - With `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'` on the failing item, its reason also
 *   carries `Item`, the item as it was. Without it, no Item. When the failing item does not
 *   exist (e.g. `attribute_exists(pk)`), there is no Item even with ALL_OLD.
 * - Every item whose condition fails is reported as ConditionalCheckFailed, not only the first
 *   (DynamoDB Local evaluates all conditions). The exception message lists the codes:
 *   "Transaction cancelled, please refer cancellation reasons for specific reasons [None,
 *   ConditionalCheckFailed, ConditionalCheckFailed]". Don't parse it; read CancellationReasons.
 * - UpdateItem with `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'` throws
 *   ConditionalCheckFailedException whose `.Item` is the current item.
 * - UpdateTimeToLive is accepted and DescribeTimeToLive reports it (DynamoDB Local never deletes
 *   expired items, so tests must not wait for TTL deletion).
 */
import { execFile } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local.ts';
import type { DynamoDbLocal } from '../../local/dynamodb-local.ts';

const TABLE = 'families';

function portIsOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Pids of DynamoDB Local JVMs started with `-port <port>` (pgrep exits 1 when none). */
async function jvmsOnPort(port: number): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)('pgrep', ['-f', `DynamoDBLocal\\.jar .*-port ${port} `]);
    return stdout.split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe('DynamoDB Local launcher: refusals', () => {
  it('refuses a cached DynamoDBLocal.jar whose sha256 is not the pinned one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ddb-cache-'));
    const previous = process.env['KMS_JWT_AUTH_CACHE'];
    try {
      const dir = join(root, 'dynamodb-local-2.9.30');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'DynamoDBLocal.jar'), 'not the real jar');
      process.env['KMS_JWT_AUTH_CACHE'] = root;
      await expect(ensureDynamoDbLocal()).rejects.toThrow(/sha256/);
    } finally {
      if (previous === undefined) delete process.env['KMS_JWT_AUTH_CACHE'];
      else process.env['KMS_JWT_AUTH_CACHE'] = previous;
      await rm(root, { recursive: true, force: true });
    }
  });

  it('says to install a JRE 17 when java is not on PATH', async () => {
    const previous = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      await expect(startDynamoDbLocal()).rejects.toThrow(/JRE 17.*openjdk-17-jre-headless/s);
    } finally {
      process.env['PATH'] = previous;
    }
  });
});

describe('DynamoDB Local', () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;

  beforeAll(async () => {
    ddb = await startDynamoDbLocal();
    client = new DynamoDBClient({
      endpoint: ddb.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
  }, 120_000);

  afterAll(async () => {
    client.destroy();
    await ddb.stop();
  });

  it('serves on a loopback endpoint with the port it reports', async () => {
    expect(ddb.endpoint).toBe(`http://127.0.0.1:${ddb.port}`);
    expect(await portIsOpen(ddb.port)).toBe(true);
  });

  it('cancels a transaction with one reason per item, ALL_OLD Item on the failing one, and writes nothing', async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'fam#1' }, generation: { N: '3' } } }));
    const err = await caught(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { pk: { S: 'tok#new' }, family: { S: 'fam#1' } } } },
            {
              Update: {
                TableName: TABLE,
                Key: { pk: { S: 'fam#1' } },
                UpdateExpression: 'SET generation = :next',
                ConditionExpression: 'generation = :expected',
                ExpressionAttributeValues: { ':next': { N: '3' }, ':expected': { N: '2' } },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            { Put: { TableName: TABLE, Item: { pk: { S: 'audit#1' } } } },
          ],
        }),
      ),
    );
    expect(err).toBeInstanceOf(TransactionCanceledException);
    const reasons = (err as TransactionCanceledException).CancellationReasons;
    expect(reasons?.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed', 'None']);
    expect(reasons?.[1]?.Item).toEqual({ pk: { S: 'fam#1' }, generation: { N: '3' } });
    expect(reasons?.[0]?.Item).toBeUndefined();
    const notWritten = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'tok#new' } } }));
    expect(notWritten.Item).toBeUndefined();
  });

  it('reports every failing item, with no Item for a missing one even with ALL_OLD', async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'fam#4' }, generation: { N: '1' } } }));
    const err = await caught(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: TABLE,
                Key: { pk: { S: 'fam#4' } },
                ConditionExpression: 'generation = :g',
                ExpressionAttributeValues: { ':g': { N: '2' } },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              ConditionCheck: {
                TableName: TABLE,
                Key: { pk: { S: 'fam#missing' } },
                ConditionExpression: 'attribute_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      ),
    );
    const reasons = (err as TransactionCanceledException).CancellationReasons;
    expect(reasons?.map((r) => r.Code)).toEqual(['ConditionalCheckFailed', 'ConditionalCheckFailed']);
    expect(reasons?.[0]?.Item).toEqual({ pk: { S: 'fam#4' }, generation: { N: '1' } });
    expect(reasons?.[1]?.Item).toBeUndefined();
  });

  it('returns no Item in the cancellation reason without ReturnValuesOnConditionCheckFailure', async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'fam#2' }, revoked: { BOOL: true } } }));
    const err = await caught(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: TABLE,
                Key: { pk: { S: 'fam#2' } },
                ConditionExpression: 'revoked = :f',
                ExpressionAttributeValues: { ':f': { BOOL: false } },
              },
            },
          ],
        }),
      ),
    );
    const reasons = (err as TransactionCanceledException).CancellationReasons;
    expect(reasons?.map((r) => r.Code)).toEqual(['ConditionalCheckFailed']);
    expect(reasons?.[0]?.Item).toBeUndefined();
  });

  it('returns the current item on a failed conditional UpdateItem with ALL_OLD', async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'fam#3' }, generation: { N: '7' } } }));
    const err = await caught(
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: { S: 'fam#3' } },
          UpdateExpression: 'SET generation = :next',
          ConditionExpression: 'generation = :expected',
          ExpressionAttributeValues: { ':next': { N: '8' }, ':expected': { N: '6' } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(err).toBeInstanceOf(ConditionalCheckFailedException);
    expect((err as ConditionalCheckFailedException).Item).toEqual({ pk: { S: 'fam#3' }, generation: { N: '7' } });
  });

  it('accepts UpdateTimeToLive and reports it enabled', async () => {
    const out = await client.send(
      new UpdateTimeToLiveCommand({ TableName: TABLE, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }),
    );
    expect(out.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    const described = await client.send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
    expect(described.TimeToLiveDescription?.AttributeName).toBe('expiresAt');
    expect(described.TimeToLiveDescription?.TimeToLiveStatus).toMatch(/^ENABL/);
  });
});

describe('DynamoDB Local lifecycle', () => {
  it('fails with the JVM output when the chosen port is taken, leaving no JVM behind', async () => {
    // Accepts connections and never answers; its sockets are destroyed at the end so close() returns.
    const sockets = new Set<Socket>();
    const blocker = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      await expect(startDynamoDbLocal({ port: address.port })).rejects.toThrow(/could not bind its port.*BindException/s);
      expect(await portIsOpen(address.port)).toBe(true); // still the blocker's, no JVM took it
      expect(await jvmsOnPort(address.port)).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  }, 120_000);

  it('stop() kills the JVM: the port is closed afterwards and a second stop() is harmless', async () => {
    const ddb = await startDynamoDbLocal();
    expect(await portIsOpen(ddb.port)).toBe(true);
    expect(await jvmsOnPort(ddb.port)).toHaveLength(1);
    await ddb.stop();
    expect(await portIsOpen(ddb.port)).toBe(false);
    expect(await jvmsOnPort(ddb.port)).toEqual([]);
    await ddb.stop();
  }, 120_000);

  it('keeps tables in persistDir across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ddb-persist-'));
    const clientFor = (endpoint: string) =>
      new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    try {
      const first = await startDynamoDbLocal({ persistDir: dir });
      const c1 = clientFor(first.endpoint);
      await c1.send(
        new CreateTableCommand({
          TableName: 'persisted',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      );
      await c1.send(new PutItemCommand({ TableName: 'persisted', Item: { pk: { S: 'x' } } }));
      c1.destroy();
      await first.stop();

      const second = await startDynamoDbLocal({ persistDir: dir });
      // Different credentials and Region: -sharedDb means the same database anyway.
      const c2 = new DynamoDBClient({
        endpoint: second.endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'other', secretAccessKey: 'other' },
        maxAttempts: 1,
      });
      try {
        const got = await c2.send(new GetItemCommand({ TableName: 'persisted', Key: { pk: { S: 'x' } } }));
        expect(got.Item).toEqual({ pk: { S: 'x' } });
      } finally {
        c2.destroy();
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
