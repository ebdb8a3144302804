/**
 * IAM: each function gets exactly what `FUNCTION_ACCESS` lists, its DynamoDB actions on the one
 * table (no index, no other table), and `kms:Sign` on the signing key or `kms:GetPublicKey` on the
 * verification keys (SPEC: the authorizer and JWKS functions can read public keys but cannot sign).
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { AuthFunction } from './auth-function.ts';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { FUNCTION_ACCESS, KEY_ACTIONS, MFA_KEY_ACTIONS, type FunctionName } from './function-access.ts';
import type { SigningKeys } from './signing-keys.ts';

export function grantFunctionAccess(
  name: FunctionName,
  fn: AuthFunction,
  table: Pick<dynamodb.ITable, 'tableArn'>,
  keys: SigningKeys,
  mfaKey: Pick<kms.IKey, 'keyArn'>,
): void {
  const access = FUNCTION_ACCESS[name];
  if (access.tableActions.length > 0) {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'AuthTable',
        actions: [...access.tableActions],
        resources: [table.tableArn],
      }),
    );
  }
  const keyActions = KEY_ACTIONS[access.keyAccess];
  if (keyActions.length > 0) {
    const granted = access.keyAccess === 'sign' ? [keys.signingKey] : keys.verificationKeys;
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: access.keyAccess === 'sign' ? 'SignAccessTokens' : 'ReadPublicKeys',
        actions: [...keyActions],
        resources: granted.map((key) => key.keyArn),
      }),
    );
  }
  const mfaActions = MFA_KEY_ACTIONS[access.mfaKeyAccess];
  if (mfaActions.length > 0) {
    // TOTP secrets: the MFA key only, and only with their encryption context (adapters/kms/secret-sealer.ts).
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TotpSecrets',
        actions: [...mfaActions],
        resources: [mfaKey.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:purpose': 'totp' } },
      }),
    );
  }
}
