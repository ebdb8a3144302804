import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { administrationOnlyKeyPolicy } from './signing-keys.ts';

/**
 * Administrative actions the account keeps on the key (as for the signing keys): spelled out
 * instead of `kms:*`, so that no IAM policy can grant `kms:Decrypt` of TOTP secrets to anyone but
 * the roles named in `allowUse`.
 */
const KEY_ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation',
  'kms:ListResourceTags',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:UpdateKeyDescription',
  'kms:ListGrants',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
] as const;

export interface MfaKeyProps {
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The symmetric KMS key (SYMMETRIC_DEFAULT, AES-256-GCM in KMS) that seals users' TOTP secrets,
 * separate from the signing keys: a role that may sign tokens cannot read secrets, and the other
 * way round. Automatic yearly rotation is on (KMS keeps older key material to decrypt what it
 * sealed, so stored secrets stay readable).
 */
export class MfaKey extends Construct {
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: MfaKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `kms-jwt-auth ${Stack.of(this).stackName}: seals TOTP secrets (second factor)`,
      keySpec: kms.KeySpec.SYMMETRIC_DEFAULT,
      keyUsage: kms.KeyUsage.ENCRYPT_DECRYPT,
      enableKeyRotation: true,
      policy: administrationOnlyKeyPolicy(KEY_ADMIN_ACTIONS),
      removalPolicy: props.removalPolicy,
    });
  }

  /**
   * Lets exactly these roles use the key for `actions`, and only with a TOTP encryption context
   * (`kms:EncryptionContext:purpose` = `totp`). As for signing, the roles are a condition on
   * `aws:PrincipalArn` rather than principals (KMS refuses a policy naming a role it cannot see yet);
   * the roles need the same actions in their own IAM policy.
   */
  public allowUse(sid: string, roles: readonly iam.IRole[], actions: readonly string[]): void {
    if (roles.length === 0 || actions.length === 0) return;
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals: [new iam.AccountRootPrincipal()],
        actions: [...actions],
        resources: ['*'],
        conditions: {
          ArnEquals: { 'aws:PrincipalArn': roles.map((role) => role.roleArn) },
          StringEquals: { 'kms:EncryptionContext:purpose': 'totp' },
        },
      }),
    );
  }
}
