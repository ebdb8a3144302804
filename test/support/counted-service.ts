/**
 * The local service with a counting proxy in front of DynamoDB Local, so an end-to-end test can
 * assert how many DynamoDB calls an operation made (and inject DynamoDB outages).
 */
import { startLocalService, type LocalService, type LocalServiceOptions } from '../../local/service.ts';
import { startCountingProxy, type CountingProxy } from './counting-proxy.ts';

export interface CountedService {
  readonly service: LocalService;
  readonly dynamo: CountingProxy;
  stop(): Promise<void>;
}

export async function startCountedService(options: Omit<LocalServiceOptions, 'port' | 'wrapDynamoEndpoint'>): Promise<CountedService> {
  const dynamo = await startCountingProxy();
  try {
    const service = await startLocalService({
      ...options,
      port: 0,
      wrapDynamoEndpoint: (endpoint) => {
        dynamo.setUpstream(endpoint);
        return dynamo.url;
      },
    });
    return {
      service,
      dynamo,
      stop: async () => {
        await service.stop();
        await dynamo.close();
      },
    };
  } catch (error) {
    await dynamo.close();
    throw error;
  }
}
