/** `GetPublicKey` over the AWS SDK's KMSClient, for the functions that already use the SDK. */
import { GetPublicKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { GetPublicKey } from './public-key-loader.ts';

export function sdkGetPublicKey(kms: KMSClient): GetPublicKey {
  return (keyId) => kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
}
