/**
 * TOTP factors, their recovery codes, pending enrolments and MFA login challenges.
 *
 * Items (the user's own under pk `SUB#<sub>`, so erasing the partition erases them):
 * - factor: sk `FACTOR#TOTP`; factorId, sealedSecret (B: the KMS ciphertext, never the secret),
 *   lastStep (N: the last accepted RFC 6238 time step), createdAt.
 * - pending enrolment: sk `PENDING#TOTP`; sealedSecret, expiresAt, ttl.
 * - recovery code: sk `RECOVERY#TOTP#<factorId>#<SHA-256 of the code>`; one item per code, so
 *   using one is a conditional delete of exactly that item. Codes of an earlier enrolment carry
 *   another factorId and are never looked up.
 * - login challenge: pk `MFA#<SHA-256 of the mfa_token>`, sk `MFA`; sub, username, scope,
 *   clientId, delivery, deviceHash?, factorId, failures, expiresAt, ttl.
 *
 * Timelines (DynamoDB applies conditional writes to one item one at a time, and a transaction's
 * conditions and writes all at once, "Amazon DynamoDB Transactions: How it works"):
 *
 *   replay   t0  lastStep = 100; two logins present the code of step 101
 *            t1  both: UPDATE factor SET lastStep = 101 IF lastStep < 101 → one passes, the other's
 *                transaction is cancelled: a code is accepted once
 *   one use  t0  two requests present one mfa_token
 *            t1  both: DELETE challenge IF exists AND unexpired AND failures < max → one passes
 *   recovery t0  DELETE RECOVERY#TOTP#<fid>#<hash> IF exists → once per code
 */
import {
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { FactorProof, MfaChallenge, PendingTotp, SecondFactors, SecondFactorStore, TotpFactor } from '../../core/ports.ts';
import { cancellationCodes, conditional, dynamo } from './errors.ts';
import { DependencyUnavailableError } from '../../core/errors.ts';
import { queryAll } from './query-all.ts';
import { N, S, num, str, type Item } from './items.ts';

const userPk = (sub: string): string => `SUB#${sub}`;
export const TOTP_FACTOR_SK = 'FACTOR#TOTP';
const PENDING_SK = 'PENDING#TOTP';
const RECOVERY_PREFIX = 'RECOVERY#TOTP#';
const recoverySk = (factorId: string, hash: string): string => `${RECOVERY_PREFIX}${factorId}#${hash}`;
const challengeKey = (tokenHash: string): Item => ({ pk: S(`MFA#${tokenHash}`), sk: S('MFA') });

function bytes(item: Item | undefined, name: string): Uint8Array | undefined {
  const value = item?.[name];
  return value !== undefined && 'B' in value && value.B instanceof Uint8Array ? value.B : undefined;
}

type Outcome = 'ok' | 'cancelled';

export class DynamoDbSecondFactors implements SecondFactorStore, SecondFactors {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(sub: string, sk: string): Item {
    return { pk: S(userPk(sub)), sk: S(sk) };
  }

  /** A transaction; a cancelled one (a condition failed) is `cancelled`, any other failure a 503. */
  private async transact(items: TransactWriteItem[]): Promise<{ outcome: Outcome; codes: string[] }> {
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return { outcome: 'ok', codes: [] };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes !== undefined && codes.includes('ConditionalCheckFailed')) return { outcome: 'cancelled', codes };
      throw new DependencyUnavailableError('DynamoDB', error);
    }
  }

  async findTotp(sub: string): Promise<TotpFactor | undefined> {
    const out = await dynamo(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(sub, TOTP_FACTOR_SK), ConsistentRead: true })),
    );
    const factorId = str(out.Item, 'factorId');
    const sealedSecret = bytes(out.Item, 'sealedSecret');
    const lastStep = num(out.Item, 'lastStep');
    if (factorId === undefined || sealedSecret === undefined || lastStep === undefined) return undefined;
    return { sub, factorId, sealedSecret, lastStep };
  }

  /** A confirmed TOTP factor is the second factor (a passkey is a first factor of its own). */
  async hasSecondFactor(sub: string): Promise<boolean> {
    return (await this.findTotp(sub)) !== undefined;
  }

  async findPendingTotp(sub: string, nowSeconds: number): Promise<PendingTotp | undefined> {
    const out = await dynamo(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(sub, PENDING_SK), ConsistentRead: true })),
    );
    const sealedSecret = bytes(out.Item, 'sealedSecret');
    const expiresAt = num(out.Item, 'expiresAt');
    if (sealedSecret === undefined || expiresAt === undefined || expiresAt <= nowSeconds) return undefined;
    return { sub, sealedSecret, expiresAt };
  }

  async savePendingTotp(pending: PendingTotp): Promise<void> {
    await dynamo(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...this.key(pending.sub, PENDING_SK), sealedSecret: { B: pending.sealedSecret }, expiresAt: N(pending.expiresAt), ttl: N(pending.expiresAt) },
        }),
      ),
    );
  }

  async confirmTotp(factor: TotpFactor, pendingSealed: Uint8Array, recoveryCodeHashes: readonly string[], nowSeconds: number): Promise<boolean> {
    const { outcome } = await this.transact([
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...this.key(factor.sub, TOTP_FACTOR_SK),
            factorId: S(factor.factorId),
            sealedSecret: { B: factor.sealedSecret },
            lastStep: N(factor.lastStep),
            createdAt: N(nowSeconds),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Delete: {
          TableName: this.tableName,
          Key: this.key(factor.sub, PENDING_SK),
          ConditionExpression: 'sealedSecret = :sealed AND expiresAt > :now',
          ExpressionAttributeValues: { ':sealed': { B: pendingSealed }, ':now': N(nowSeconds) },
        },
      },
      ...recoveryCodeHashes.map(
        (hash): TransactWriteItem => ({
          Put: { TableName: this.tableName, Item: { ...this.key(factor.sub, recoverySk(factor.factorId, hash)), factorId: S(factor.factorId) } },
        }),
      ),
    ]);
    return outcome === 'ok';
  }

  /** Every recovery-code item of the user, of any enrolment (strongly consistent). */
  private async recoveryCodeKeys(sub: string): Promise<string[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': S(userPk(sub)), ':prefix': S(RECOVERY_PREFIX) },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    });
    return items.map((item) => str(item, 'sk')).filter((sk) => sk !== undefined);
  }

  private deleteOf(sub: string, sk: string): TransactWriteItem {
    return { Delete: { TableName: this.tableName, Key: this.key(sub, sk) } };
  }

  private proofItem(sub: string, proof: FactorProof): TransactWriteItem {
    if (proof.kind === 'otp') {
      return {
        Update: {
          TableName: this.tableName,
          Key: this.key(sub, TOTP_FACTOR_SK),
          UpdateExpression: 'SET lastStep = :step',
          ConditionExpression: 'factorId = :fid AND lastStep < :step',
          ExpressionAttributeValues: { ':fid': S(proof.factorId), ':step': N(proof.step) },
        },
      };
    }
    return {
      Delete: {
        TableName: this.tableName,
        Key: this.key(sub, recoverySk(proof.factorId, proof.codeHash)),
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
  }

  async removeTotp(sub: string, proof: FactorProof): Promise<boolean> {
    const codes = (await this.recoveryCodeKeys(sub)).filter((sk) => proof.kind !== 'recovery_code' || sk !== recoverySk(proof.factorId, proof.codeHash));
    const factorDelete: TransactWriteItem =
      proof.kind === 'otp'
        ? {
            Delete: {
              TableName: this.tableName,
              Key: this.key(sub, TOTP_FACTOR_SK),
              ConditionExpression: 'factorId = :fid AND lastStep < :step',
              ExpressionAttributeValues: { ':fid': S(proof.factorId), ':step': N(proof.step) },
            },
          }
        : {
            Delete: {
              TableName: this.tableName,
              Key: this.key(sub, TOTP_FACTOR_SK),
              ConditionExpression: 'factorId = :fid',
              ExpressionAttributeValues: { ':fid': S(proof.factorId) },
            },
          };
    // One transaction: the proof, the factor, every recovery code and the pending enrolment, so
    // a failure leaves the factor whole (at most 100 items: 10 codes and three more).
    const items = [
      ...(proof.kind === 'recovery_code' ? [this.proofItem(sub, proof)] : []),
      factorDelete,
      ...codes.slice(0, 90).map((sk) => this.deleteOf(sub, sk)),
      this.deleteOf(sub, PENDING_SK),
    ];
    const { outcome } = await this.transact(items);
    return outcome === 'ok';
  }

  async hasRecoveryCode(sub: string, factorId: string, codeHash: string): Promise<boolean> {
    const out = await dynamo(() =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key(sub, recoverySk(factorId, codeHash)), ProjectionExpression: 'pk', ConsistentRead: true }),
      ),
    );
    return out.Item !== undefined;
  }

  async resetTotp(sub: string): Promise<boolean> {
    const existed = (await this.findTotp(sub)) !== undefined;
    const sks = [TOTP_FACTOR_SK, PENDING_SK, ...(await this.recoveryCodeKeys(sub))];
    for (let i = 0; i < sks.length; i += 100) {
      await this.transact(sks.slice(i, i + 100).map((sk) => this.deleteOf(sub, sk)));
    }
    return existed;
  }

  async createChallenge(challenge: MfaChallenge): Promise<void> {
    await dynamo(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...challengeKey(challenge.tokenHash),
            sub: S(challenge.sub),
            username: S(challenge.username),
            scope: S(challenge.scope),
            clientId: S(challenge.clientId),
            delivery: S(challenge.delivery),
            ...(challenge.deviceHash === undefined ? {} : { deviceHash: S(challenge.deviceHash) }),
            factorId: S(challenge.factorId),
            failures: N(challenge.failures),
            expiresAt: N(challenge.expiresAt),
            ttl: N(challenge.expiresAt),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async findChallenge(tokenHash: string, nowSeconds: number): Promise<MfaChallenge | undefined> {
    const out = await dynamo(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: challengeKey(tokenHash), ConsistentRead: true })),
    );
    const item = out.Item;
    const fields = {
      sub: str(item, 'sub'),
      username: str(item, 'username'),
      scope: str(item, 'scope'),
      clientId: str(item, 'clientId'),
      delivery: str(item, 'delivery'),
      factorId: str(item, 'factorId'),
      failures: num(item, 'failures'),
      expiresAt: num(item, 'expiresAt'),
    };
    const { sub, username, scope, clientId, delivery, factorId, failures, expiresAt } = fields;
    if (
      sub === undefined || username === undefined || scope === undefined || clientId === undefined || factorId === undefined ||
      failures === undefined || expiresAt === undefined || (delivery !== 'body' && delivery !== 'cookie') || expiresAt <= nowSeconds
    ) {
      return undefined;
    }
    return { tokenHash, sub, username, scope, clientId, delivery, deviceHash: str(item, 'deviceHash'), factorId, failures, expiresAt };
  }

  async recordChallengeFailure(tokenHash: string): Promise<void> {
    await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: challengeKey(tokenHash),
          UpdateExpression: 'ADD failures :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': N(1) },
        }),
      ),
    );
  }

  async completeChallenge(
    challenge: Pick<MfaChallenge, 'tokenHash' | 'sub'>,
    proof: FactorProof,
    nowSeconds: number,
    maxFailures: number,
  ): Promise<'completed' | 'challenge_gone' | 'proof_refused'> {
    const { tokenHash, sub } = challenge;
    const items: TransactWriteItem[] = [
      {
        Delete: {
          TableName: this.tableName,
          Key: challengeKey(tokenHash),
          ConditionExpression: 'attribute_exists(pk) AND expiresAt > :now AND failures < :max',
          ExpressionAttributeValues: { ':now': N(nowSeconds), ':max': N(maxFailures) },
        },
      },
    ];
    items.push(this.proofItem(sub, proof));
    if (proof.kind === 'recovery_code') {
      // The code must belong to the factor the user has now, not to one removed meanwhile.
      items.push({
        ConditionCheck: {
          TableName: this.tableName,
          Key: this.key(sub, TOTP_FACTOR_SK),
          ConditionExpression: 'factorId = :fid',
          ExpressionAttributeValues: { ':fid': S(proof.factorId) },
        },
      });
    }
    const { outcome, codes } = await this.transact(items);
    if (outcome === 'ok') return 'completed';
    return codes[0] === 'ConditionalCheckFailed' ? 'challenge_gone' : 'proof_refused';
  }
}
