import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { KmsJwtAuth, type KmsJwtAuthProps } from './kms-jwt-auth.ts';

export interface KmsJwtAuthStackProps extends StackProps {
  /**
   * Settings of the auth service, or a function of the stack that returns them (for settings
   * that reference resources imported into the stack, such as a certificate or an SNS topic).
   * @default the KmsJwtAuth defaults
   */
  readonly auth?: KmsJwtAuthProps | ((stack: Stack) => KmsJwtAuthProps);
}

/**
 * The deployable service: one `KmsJwtAuth` and the outputs an operator and the teams attaching
 * the authorizer need.
 */
export class KmsJwtAuthStack extends Stack {
  public readonly auth: KmsJwtAuth;

  constructor(scope: Construct, id: string, props: KmsJwtAuthStackProps = {}) {
    super(scope, id, props);
    const auth = props.auth ?? {};
    this.auth = new KmsJwtAuth(this, 'Auth', typeof auth === 'function' ? auth(this) : auth);

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the token API (execute-api endpoint)',
      value: this.auth.httpApi.apiEndpoint,
    });
    if (this.auth.domainName !== undefined) {
      new CfnOutput(this, 'CustomDomainTarget', {
        description: 'Point the custom domain (CNAME or alias) at this regional domain name',
        value: this.auth.domainName.regionalDomainName,
      });
    }
    new CfnOutput(this, 'Issuer', { description: 'iss of every access token', value: this.auth.issuer });
    new CfnOutput(this, 'JwksUrl', { description: 'Public verification keys (RFC 7517)', value: this.auth.jwksUrl });
    new CfnOutput(this, 'OpenIdConfigurationUrl', {
      description: 'Discovery metadata',
      value: `${this.auth.issuer}/.well-known/openid-configuration`,
    });
    new CfnOutput(this, 'AuthorizerFunctionArn', {
      description: 'Attach this Lambda authorizer to REST or HTTP APIs (see docs/deploy.md)',
      value: this.auth.authorizerFunction.functionArn,
    });
    new CfnOutput(this, 'TableName', { description: 'DynamoDB table (admin CLI target)', value: this.auth.table.tableName });
    new CfnOutput(this, 'SigningKeyArn', {
      description: 'KMS key that signs access tokens',
      value: this.auth.keys.signingKey.keyArn,
    });
    new CfnOutput(this, 'VerifyKeyArns', {
      description: 'KMS keys published in the JWKS and trusted by the authorizer, signing key first',
      value: this.auth.keys.verificationKeys.map((key) => key.keyArn).join(','),
    });
  }
}
