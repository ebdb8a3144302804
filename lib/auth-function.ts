import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundleSettings } from './bundling.ts';

/** Why the functions are pinned to one runtime rather than following the newest. */
const RUNTIME_REASON =
  'Pinned to nodejs24.x, the runtime the handlers are bundled for (esbuild target node24) and the one the tests run on (the project pins Node 24 as a devDependency). Moving to a newer runtime is a deliberate change made together with the build target and the tests, not an automatic one.';

/**
 * Where a function's code comes from: a bundle built before packaging (the installed package,
 * which ships `dist/lambdas/<name>/index.mjs`, so a consumer needs neither esbuild nor Docker), or
 * the handler source, bundled by esbuild at synth (this repository's own app and tests).
 */
export type AuthFunctionCode =
  | {
      /** Absolute path of a directory holding `index.mjs` (exporting `handler`) and its source map. */
      readonly prebuiltDir: string;
    }
  | {
      /** Absolute path of the handler file; it must export `handler`. */
      readonly entry: string;
      /** Absolute path of the `package-lock.json` of the project that holds the handlers. */
      readonly depsLockFilePath: string;
    };

export interface AuthFunctionProps {
  /** The prebuilt bundle or the handler source. */
  readonly code: AuthFunctionCode;
  /** One-line description shown in the Lambda console. */
  readonly description: string;
  /** Environment variables; `NODE_OPTIONS` is set here. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Memory; CPU scales with it, and password hashing in `login` needs CPU.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Timeout. API Gateway gives up after 29 s (REST/HTTP integrations) and 10 s (authorizers);
   * a function should fail well before that.
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;
  /** How long the log group keeps events. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * X-Ray active tracing.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Ship a source map and run with `--enable-source-maps`, for readable stack traces. Node reads
   * and parses the map when the module loads, which lengthens every cold start.
   * @default true
   */
  readonly sourceMaps?: boolean;
  /**
   * Define `require` in the ESM bundle (`ESM_REQUIRE_SHIM`), for CommonJS dependencies such as
   * parts of the AWS SDK. Turn off only for a bundle without CommonJS.
   * @default true
   */
  readonly requireShim?: boolean;
  /**
   * Concurrent executions reserved for (and capping) this function.
   * @default none: the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Lambda function with this project's defaults, its own log group and its own role:
 * - arm64, `nodejs24.x`, either prebuilt (`npm run build`, shipped in the package) or bundled at
 *   synth by `NodejsFunction` with local esbuild (no Docker), in both cases as minified ESM for `node24`,
 *   with source maps (`NODE_OPTIONS=--enable-source-maps`) unless `sourceMaps` is off (the
 *   authorizer's, for its cold start). Each function is bundled from its own
 *   entry, so a bundle holds only what that handler imports; the AWS SDK is bundled too, pinned
 *   by `package-lock.json` instead of the version the runtime happens to ship.
 * - an explicit log group with retention and removal policy (not the implicit, never-expiring
 *   `/aws/lambda/<name>` group);
 * - a role that may write to that log group and nothing else; callers add the rest with
 *   `role.addToPrincipalPolicy`. No AWS managed policy is attached.
 */
export class AuthFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuthFunctionProps) {
    super(scope, id);
    const tracing = props.tracing ?? false;
    const sourceMaps = props.sourceMaps ?? true;
    const settings = bundleSettings({ sourceMaps, requireShim: props.requireShim ?? true });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${scope.node.path}/${id}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    // Both paths give the same function: handler `index.handler` (NodejsFunction's name for the
    // bundle it writes), the same runtime, environment and role; only the asset's origin differs.
    const common = {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(5),
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      role: this.role,
      logGroup: this.logGroup,
      tracing: tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment: sourceMaps ? { ...props.environment, NODE_OPTIONS: '--enable-source-maps' } : { ...props.environment },
    };
    const code = props.code;
    this.function =
      'prebuiltDir' in code
        ? new lambda.Function(this, 'Function', {
            ...common,
            code: lambda.Code.fromAsset(code.prebuiltDir),
            handler: 'index.handler',
          })
        : new nodejs.NodejsFunction(this, 'Function', {
            ...common,
            entry: code.entry,
            handler: 'handler',
            depsLockFilePath: code.depsLockFilePath,
            bundling: {
              format: nodejs.OutputFormat.ESM,
              target: settings.target,
              mainFields: [...settings.mainFields],
              minify: settings.minify,
              sourceMap: settings.sourcemap,
              ...(settings.sourcemap ? { sourcesContent: false } : {}),
              ...(settings.banner !== undefined ? { banner: settings.banner } : {}),
              bundleAwsSDK: true,
              externalModules: [],
              forceDockerBundling: false,
              logLevel: nodejs.LogLevel.WARNING,
            },
          });

    Validations.of(this.function).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason: RUNTIME_REASON,
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason: RUNTIME_REASON,
      },
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked only synchronously by API Gateway; a dead-letter queue applies to asynchronous invocations, and the caller already receives the error.',
      },
      {
        id: 'Serverless-LambdaAsyncFailureDestination',
        reason:
          'Invoked only synchronously by API Gateway; failure destinations apply to asynchronous invocations.',
      },
    );
    if (!tracing) {
      Validations.of(this.function).acknowledge({
        id: 'Serverless-LambdaTracing',
        reason:
          'X-Ray tracing is opt-in (prop `tracing`): xray:PutTraceSegments cannot be scoped to a resource, so tracing adds a Resource:* statement to every role. Structured logs, Lambda metrics and the alarms cover operations by default.',
      });
    } else {
      Validations.of(this.role).acknowledge(
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'Added by Tracing.ACTIVE for xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions.',
        },
        {
          id: 'Serverless-LambdaStarPermissions',
          reason: 'The only Resource:* statement is the X-Ray one that active tracing requires.',
        },
      );
    }
  }
}
