import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** JWS algorithms the service can sign with (RFC 7518 §3.1). */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * The KMS key spec behind each JWS algorithm: ES256 is ECDSA over P-256 with SHA-256
 * (RFC 7518 §3.4), RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3, 2048-bit minimum).
 */
export const KEY_SPEC_FOR_ALGORITHM = {
  ES256: kms.KeySpec.ECC_NIST_P256,
  RS256: kms.KeySpec.RSA_2048,
} as const satisfies Record<SigningAlgorithm, kms.KeySpec>;

/**
 * Administrative actions the account (and through it, IAM policies of the account's admins and
 * of CloudFormation) keeps on each key. Spelled out instead of `kms:*` so that no one gets
 * `kms:Sign` or `kms:CreateGrant` by way of an IAM policy: signing is granted only to the roles
 * named in `allowSigning`. `kms:PutKeyPolicy` stays so that the key passes KMS's
 * policy-lockout safety check and can be updated by the next deployment.
 */
const KEY_ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:GetPublicKey',
  'kms:ListResourceTags',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:UpdateKeyDescription',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:ListGrants',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
] as const;

/**
 * A key policy that gives the account `actions` (administration) only; every use of the key
 * (signing, decrypting) is added per role by the construct that owns the key.
 */
export function administrationOnlyKeyPolicy(actions: readonly string[]): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'AccountAdministration',
        principals: [new iam.AccountRootPrincipal()],
        actions: [...actions],
        resources: ['*'], // in a key policy, "*" means "this key"
      }),
    ],
  });
}

export interface SigningKeysProps {
  /** The algorithm every key signs/verifies with; decides the key spec. */
  readonly algorithm: SigningAlgorithm;
  /**
   * Key generations, newest trusted first: one KMS key is created per name. The first one signs;
   * the others only verify (they are published in the JWKS until the access tokens they signed
   * have expired). Names must stay stable: renaming one replaces its key.
   */
  readonly generations: readonly string[];
  /** Keys managed elsewhere that are trusted for verification only. */
  readonly additionalVerificationKeys: readonly kms.IKey[];
  /** What happens to the keys when they leave the stack. */
  readonly removalPolicy: RemovalPolicy;
  /** Alias prefix, without `alias/`. Each key gets `alias/<prefix>/<generation>`. */
  readonly aliasPrefix: string;
}

/**
 * The asymmetric KMS keys that sign and verify access tokens, with their aliases and key
 * policies. The private keys never leave KMS.
 */
export class SigningKeys extends Construct {
  /** The key that signs new access tokens. */
  public readonly signingKey: kms.Key;
  /** Every key whose public key is published and trusted: the signing key first. */
  public readonly verificationKeys: readonly kms.IKey[];
  /** Keys created by this construct, by generation name. */
  public readonly keysByGeneration: ReadonlyMap<string, kms.Key>;
  /** Keys managed elsewhere, trusted for verification only (granted by ARN). */
  public readonly additionalVerificationKeys: readonly kms.IKey[];
  /** `alias/<prefix>/signing`, pointing at the deploy-time signing key (rotate-key's first seed). */
  public readonly signingAlias: kms.Alias;
  private readonly algorithm: SigningAlgorithm;

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    this.algorithm = props.algorithm;
    const [current, ...rest] = props.generations;
    if (current === undefined) {
      throw new Error('SigningKeys: at least one key generation is required');
    }
    const unique = new Set(props.generations);
    if (unique.size !== props.generations.length) {
      throw new Error(`SigningKeys: key generations must be unique, got ${props.generations.join(',')}`);
    }
    for (const generation of props.generations) {
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(generation)) {
        throw new Error(`SigningKeys: key generation "${generation}" must match [A-Za-z0-9_-]{1,32}`);
      }
    }
    if (!/^[A-Za-z0-9/_-]+$/.test(props.aliasPrefix) || props.aliasPrefix.startsWith('aws/')) {
      throw new Error(`SigningKeys: invalid alias prefix "${props.aliasPrefix}"`);
    }

    const keys = new Map<string, kms.Key>();
    for (const generation of props.generations) {
      const role = generation === current ? 'signs access tokens' : 'verifies access tokens only';
      const key = new kms.Key(this, `Key-${generation}`, {
        description: `kms-jwt-auth ${Stack.of(this).stackName} key ${generation}: ${role} (${props.algorithm})`,
        keySpec: KEY_SPEC_FOR_ALGORITHM[props.algorithm],
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        // KMS has no automatic rotation for asymmetric keys; the operator's rotate-key adds keys at
        // run time (docs/deploy.md), with the deployment tag this key also carries.
        enableKeyRotation: false,
        policy: administrationOnlyKeyPolicy(KEY_ADMIN_ACTIONS),
        removalPolicy: props.removalPolicy,
      });
      new kms.Alias(this, `Alias-${generation}`, {
        aliasName: `alias/${props.aliasPrefix}/${generation}`,
        targetKey: key,
      });
      keys.set(generation, key);
    }

    const signingKey = keys.get(current);
    if (signingKey === undefined) {
      throw new Error('SigningKeys: unreachable, signing key missing');
    }
    this.signingKey = signingKey;
    this.signingAlias = new kms.Alias(this, 'SigningAlias', {
      aliasName: `alias/${props.aliasPrefix}/signing`,
      targetKey: signingKey,
    });
    this.keysByGeneration = keys;
    this.additionalVerificationKeys = props.additionalVerificationKeys;
    this.verificationKeys = [
      signingKey,
      ...rest.map((generation) => {
        const key = keys.get(generation);
        if (key === undefined) throw new Error('SigningKeys: unreachable, key missing');
        return key;
      }),
      ...props.additionalVerificationKeys,
    ];
  }

  /**
   * Let exactly these roles sign with the current signing key. The key policy enables IAM for
   * `kms:Sign` only when the caller is one of these roles (`aws:PrincipalArn`), so an IAM policy
   * elsewhere in the account that grants `kms:Sign` on `*` still cannot sign tokens. A condition
   * is used instead of naming the roles as principals because KMS rejects a key policy whose
   * principal role was created seconds earlier and is not yet visible to it.
   * The roles must also be granted `kms:Sign` by their own IAM policy.
   */
  public allowSigning(roles: readonly iam.IRole[]): void {
    if (roles.length === 0) return;
    this.signingKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SignOnlyByTokenIssuers',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: {
          ArnEquals: { 'aws:PrincipalArn': roles.map((role) => role.roleArn) },
          StringEquals: { 'kms:SigningAlgorithm': this.kmsSigningAlgorithm() },
        },
      }),
    );
  }

  /** KMS's name for the signing algorithm of the keys (KMS API `SigningAlgorithmSpec`). */
  private kmsSigningAlgorithm(): string {
    return this.algorithm === 'RS256' ? 'RSASSA_PKCS1_V1_5_SHA_256' : 'ECDSA_SHA_256';
  }
}
