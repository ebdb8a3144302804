/**
 * The CDK app: reads the `kms-jwt-auth:*` context from cdk.json (or `-c kms-jwt-auth:key=value`;
 * every key is listed in lib/app-settings.ts and docs/deploy.md), creates the stack, and runs the
 * cdk-nag AwsSolutions and Serverless packs as validation plugins, so `cdk synth` fails on any
 * finding that is not acknowledged with a reason.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { readAppSettings } from '../lib/app-settings.ts';
import { KmsJwtAuthStack } from '../lib/kms-jwt-auth-stack.ts';

const app = new App();
const settings = readAppSettings(app.node);

const account = process.env['CDK_DEFAULT_ACCOUNT'];
const region = process.env['CDK_DEFAULT_REGION'];
new KmsJwtAuthStack(app, settings.stackName, {
  description: 'kms-jwt-auth: KMS-signed JWTs, rotating refresh tokens, API Gateway Lambda authorizer',
  // Bound to the CLI's account and region when it knows them; synth needs no AWS call either way.
  ...(account !== undefined && region !== undefined ? { env: { account, region } } : {}),
  auth: (stack) => settings.authProps(stack),
});

// cdk-nag v3 runs as a policy-validation plugin (the v2 `Aspects.of(app).add(...)` form is gone).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
