import { Duration, type Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import {
  AuthorizerAttachment,
  validateAuthorizerInvokePermission,
  type AuthorizerInvokePermission,
  type AuthorizerResponse,
} from './authorizer-attachment.ts';

/** What is needed to attach an existing kms-jwt-auth deployment's authorizer. */
export interface KmsJwtAuthAttributes {
  /** The `AuthorizerFunctionArn` output of the deployed stack. */
  readonly authorizerFunctionArn: string;
  /**
   * The deployment's `authorizerResponse` setting (its `AUTHORIZER_RESPONSE` variable).
   * @default 'simple'
   */
  readonly authorizerResponse?: AuthorizerResponse;
  /**
   * Default cache TTL of the authorizers created from this reference.
   * @default Duration.seconds(0)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * Whether the function is in the same account as the APIs, so that CDK can add the
   * `lambda:InvokeFunction` permission for API Gateway. Set false for a function in another
   * account; its owner then adds the permission (see docs/deploy.md).
   * @default true
   */
  readonly sameAccount?: boolean;
  /**
   * The deployment's `authorizerInvokePermission` setting. With `account` the deployment already
   * lets every API of its account invoke the authorizer, so attachments add no permission; with
   * `role` each attaching stack gets a role to invoke it (same account only).
   * @default 'api'
   */
  readonly authorizerInvokePermission?: AuthorizerInvokePermission;
}

/** A kms-jwt-auth deployment referenced by attributes (see `KmsJwtAuth.fromAttributes`). */
export class ImportedKmsJwtAuth extends AuthorizerAttachment {
  public readonly authorizerFunction: lambda.IFunction;
  public readonly authorizerResponse: AuthorizerResponse;
  protected readonly defaultAuthorizerCacheTtl: Duration;
  protected readonly invokePermission: AuthorizerInvokePermission;
  private readonly sameAccount: boolean;

  constructor(scope: Construct, id: string, attrs: KmsJwtAuthAttributes) {
    super(scope, id);
    this.sameAccount = attrs.sameAccount ?? true;
    this.invokePermission = validateAuthorizerInvokePermission(attrs.authorizerInvokePermission ?? 'api');
    this.authorizerFunction = lambda.Function.fromFunctionAttributes(this, 'AuthorizerFunction', {
      functionArn: attrs.authorizerFunctionArn,
      sameEnvironment: this.sameAccount,
    });
    this.authorizerResponse = attrs.authorizerResponse ?? 'simple';
    this.defaultAuthorizerCacheTtl = attrs.authorizerCacheTtl ?? Duration.seconds(0);
  }

  /** Only CloudFormation in the function's account can add to its policy; `sameAccount` says which. */
  protected override canGrantInvokeIn(_apiStack: Stack): boolean {
    return this.sameAccount;
  }
}
