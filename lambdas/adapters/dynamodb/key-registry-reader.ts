/**
 * The authorizer's read of the key registry: one strongly consistent `GetItem` over its own SigV4
 * client (no SDK in the authorizer's bundle). Made once per container, then only on an unknown
 * kid (rate-limited) and periodically (`adapters/kms/registry-key-ring.ts`), never per decision.
 * A failed read is `DependencyUnavailableError`.
 */
import { DependencyUnavailableError } from '../../core/errors.ts';
import { isRecord } from '../../core/is-record.ts';
import type { KeyRegistry } from '../../core/key-registry.ts';
import type { KeyRegistryReader } from '../../core/ports.ts';
import type { AwsJsonClient } from '../aws/aws-json-client.ts';
import { withDeadline } from '../aws/deadline.ts';
import { KEY_REGISTRY_KEY, parseKeyRegistryItem } from './key-registry-item.ts';

const DEFAULT_BUDGET_MS = 1500;

export class SigV4KeyRegistryReader implements KeyRegistryReader {
  constructor(
    private readonly client: AwsJsonClient,
    private readonly tableName: string,
    private readonly budgetMs: number = DEFAULT_BUDGET_MS,
  ) {}

  read(): Promise<KeyRegistry | undefined> {
    return withDeadline(this.budgetMs, async (deadline) => {
      let response: unknown;
      try {
        response = await this.client.call(
          'DynamoDB_20120810.GetItem',
          { TableName: this.tableName, Key: KEY_REGISTRY_KEY, ConsistentRead: true },
          deadline,
        );
      } catch (cause) {
        throw new DependencyUnavailableError('DynamoDB', cause);
      }
      if (!isRecord(response)) throw new DependencyUnavailableError('DynamoDB', new Error('unreadable response'));
      return parseKeyRegistryItem(response.Item);
    });
  }
}
