/**
 * IAM: each function gets exactly what `FUNCTION_ACCESS` lists, its DynamoDB actions on the one
 * table (no index, no other table), and `kms:Sign` or `kms:GetPublicKey` on the deployment's keys
 * (SPEC: the authorizer and JWKS functions can read public keys but cannot sign).
 *
 * The deployment's keys are named by their tag, not their ARNs: the operator's `rotate-key`
 * creates keys at run time, and the functions must be able to use them without a redeploy. So the
 * KMS statements cover `arn:<partition>:kms:<region>:<account>:key/*` only where the key carries
 * `kms-jwt-auth:deployment = <table name>` (`aws:ResourceTag`, which KMS evaluates for the key
 * used in `Sign` and `GetPublicKey`: "ABAC for AWS KMS" and "Use tags to control access to KMS
 * keys" in the KMS developer guide). Keys trusted from elsewhere (`additionalVerificationKeys`)
 * are granted by ARN.
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { DEPLOYMENT_TAG_KEY } from '../lambdas/core/key-registry.ts';
import type { AuthFunction } from './auth-function.ts';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { FUNCTION_ACCESS, KEY_ACTIONS, MFA_KEY_ACTIONS, type FunctionName } from './function-access.ts';
import type { SigningKeys } from './signing-keys.ts';

/** Every KMS key of this account and Region: narrowed to the deployment's keys by the tag condition. */
export function deploymentKeysArn(scope: Stack): string {
  return scope.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
}

/** The condition that narrows `key/*` to the keys tagged for this deployment. */
export function deploymentKeyCondition(tableName: string): Record<string, Record<string, string>> {
  return { StringEquals: { [`aws:ResourceTag/${DEPLOYMENT_TAG_KEY}`]: tableName } };
}

export function grantFunctionAccess(
  name: FunctionName,
  fn: AuthFunction,
  table: Pick<dynamodb.ITable, 'tableArn' | 'tableName'>,
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
  const keyActions: readonly string[] = KEY_ACTIONS[access.keyAccess];
  if (keyActions.length === 0) return;
  const signs = access.keyAccess === 'sign';
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: signs ? 'SignAccessTokens' : 'ReadPublicKeys',
      actions: [...keyActions],
      resources: [deploymentKeysArn(Stack.of(fn))],
      conditions: deploymentKeyCondition(table.tableName),
    }),
  );
  if (!signs && keys.additionalVerificationKeys.length > 0) {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTrustedPublicKeys',
        actions: [...keyActions],
        resources: keys.additionalVerificationKeys.map((key) => key.keyArn),
      }),
    );
  }
  Validations.of(fn.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${keyWildcardFinding(Stack.of(fn))}]`,
    reason: `kms:${signs ? 'Sign and kms:GetPublicKey' : 'GetPublicKey'} on key/* only where aws:ResourceTag/${DEPLOYMENT_TAG_KEY} is this deployment's table: the keys rotate-key creates at run time are covered without a redeploy, and no other key is.`,
  });
}

/**
 * How cdk-nag names the `key/*` resource in its IAM5 finding: `deploymentKeysArn` with each
 * pseudo parameter the stack leaves unresolved written `<AWS::Name>`, and literal otherwise (a
 * stack with an explicit account and Region).
 */
function keyWildcardFinding(stack: Stack): string {
  const part = (value: string, pseudo: string): string => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  return `arn:${part(stack.partition, 'Partition')}:kms:${part(stack.region, 'Region')}:${part(stack.account, 'AccountId')}:key/*`;
}
