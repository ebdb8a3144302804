/**
 * What each Lambda function may do, in one place.
 *
 * This is the least-privilege contract between the infrastructure and the handler code in
 * `lambdas/`: every AWS call a handler makes must appear here, and nothing else may. The
 * `KmsJwtAuth` construct turns each entry into one IAM statement on the table (never on `*`) and
 * one on the KMS keys. Action names are spelled out; wildcards (`dynamodb:*`, `kms:Get*`) are
 * never used, and `test/infra` fails if one appears in any policy.
 */

/** The functions of the service; each has `lambdas/<name>/handler.ts`. */
export const FUNCTION_NAMES = ['login', 'refresh', 'revoke', 'jwks', 'authorizer', 'account'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * How a function may use the KMS keys.
 * - `sign`: `kms:Sign` on the current signing key only (login and refresh mint access tokens), plus
 *   `kms:GetPublicKey` on that key: the signer reads it once per container to compute the `kid`
 *   (RFC 7638 thumbprint) it puts in every token header.
 * - `read-public-keys`: `kms:GetPublicKey` on every key that verifies (signing + verify-only).
 * - `none`: no KMS access.
 */
export type KeyAccess = 'sign' | 'read-public-keys' | 'none';

/**
 * How a function may use the MFA key (the symmetric key that seals TOTP secrets, lib/mfa-key.ts):
 * - `seal-and-open`: `kms:Encrypt` (enrolment) and `kms:Decrypt` (confirming, removing): the account function;
 * - `open`: `kms:Decrypt` only (checking a code at login);
 * - `none`.
 */
export type MfaKeyAccess = 'seal-and-open' | 'open' | 'none';

export interface FunctionAccess {
  /** DynamoDB actions on the auth table (and nothing else). Empty: no table access. */
  readonly tableActions: readonly string[];
  /** KMS access. */
  readonly keyAccess: KeyAccess;
  /** Access to the MFA key. */
  readonly mfaKeyAccess: MfaKeyAccess;
}

export const FUNCTION_ACCESS = {
  login: {
    // TransactWriteItems is authorised per item, so it needs Put/Update/ConditionCheck, not its
    // own action (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
    tableActions: [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
      'dynamodb:ConditionCheckItem',
      // A successful login clears its username+IP failure counter; a passkey sign-in consumes its
      // challenge (conditional DeleteItem; the challenge is a PutItem, the passkey's counter an UpdateItem).
      'dynamodb:DeleteItem',
    ],
    keyAccess: 'sign',
    // POST /login/mfa checks a TOTP code.
    mfaKeyAccess: 'open',
  },
  refresh: {
    tableActions: [
      // Reuse revokes the family: read-modify-write of the user's revocation item.
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
      // Reuse with REUSE_POLICY=user lists the user's families.
      'dynamodb:Query',
    ],
    keyAccess: 'sign',
    mfaKeyAccess: 'none',
  },
  revoke: {
    tableActions: [
      // Read-modify-write of the user's revocation item (optimistic lock on its version).
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ],
    keyAccess: 'read-public-keys',
    mfaKeyAccess: 'none',
  },
  jwks: {
    // The key registry item (which keys verify), per request.
    tableActions: ['dynamodb:GetItem'],
    keyAccess: 'read-public-keys',
    mfaKeyAccess: 'none',
  },
  authorizer: {
    // One GetItem of the user's revocation item (token, session, user) per decision, and of the
    // key registry item at cold start, on an unknown kid and once a minute. Never kms:Sign.
    tableActions: ['dynamodb:GetItem'],
    keyAccess: 'read-public-keys',
    mfaKeyAccess: 'none',
  },
  account: {
    // The caller's sessions (Query) name the account (GetItem of the user item). Changing the
    // password: the login throttle's counters (BatchGetItem, UpdateItem, DeleteItem), the hash
    // (UpdateItem), the second-factor check (GetItem), the other sessions (UpdateItem of each family,
    // read-modify-write of the revocation item: GetItem, PutItem). Deleting the account also marks
    // and deletes the user item (UpdateItem, DeleteItem) and erases the user's partition
    // (BatchWriteItem of deletions, which IAM authorizes as BatchWriteItem). TOTP: the pending
    // enrolment (PutItem), confirming and removing (transactions of Put and Delete, authorized per
    // item), the recovery codes (Query); removing counts the attempt on the login throttle.
    // Passkeys: a registration challenge is stored (PutItem) and consumed (conditional
    // DeleteItem), passkeys are listed (Query), added (PutItem) and removed (DeleteItem).
    tableActions: [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    ],
    keyAccess: 'none',
    mfaKeyAccess: 'seal-and-open',
  },
} as const satisfies Record<FunctionName, FunctionAccess>;

/** The KMS actions on the MFA key each kind of access turns into. */
export const MFA_KEY_ACTIONS = {
  'seal-and-open': ['kms:Encrypt', 'kms:Decrypt'],
  open: ['kms:Decrypt'],
  none: [],
} as const satisfies Record<MfaKeyAccess, readonly string[]>;

/** The KMS actions each kind of key access turns into. */
export const KEY_ACTIONS = {
  sign: ['kms:Sign', 'kms:GetPublicKey'],
  'read-public-keys': ['kms:GetPublicKey'],
  none: [],
} as const satisfies Record<KeyAccess, readonly string[]>;
