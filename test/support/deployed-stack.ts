/**
 * The stack exactly as `cdk deploy` would ship it, brought up on this machine: synthesizes the CDK
 * app (the `app` command of cdk.json, run the way the CLI runs it), reads the cloud assembly, and
 * "deploys" what the functions depend on to local stand-ins: each DynamoDB table of the template
 * into DynamoDB Local (its own key schema and TTL), each KMS key into the KMS stand-in (its own key
 * spec). Each function is then described by its code asset (the folder the CLI would zip and
 * upload) and its template configuration, with every CloudFormation intrinsic in its environment
 * resolved to those local resources.
 *
 * Functions are found the way API Gateway finds them: from a route's integration, and from the
 * route's authorizer, so the test does not depend on construct ids.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
  type KeyType,
  type ScalarAttributeType,
} from '@aws-sdk/client-dynamodb';
import { AssetManifestArtifact, CloudAssembly, CONTEXT_ENV, OUTDIR_ENV } from 'aws-cdk-lib/cx-api';
import type { KmsStandin } from '../../local/kms-standin/server.ts';
import { isSupportedKeySpec } from '../../local/kms-standin/signing.ts';
import { cdkJsonApp, cdkJsonContext, isObject, offlineEnv, type JsonObject } from '../infra/support.ts';
import type { LambdaFunctionSpec } from './lambda-process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ACCOUNT_ID = '123456789012';

/**
 * Runs the CDK app as `cdk synth` does (the CLI runs cdk.json's `app` with the output folder and
 * the context in these two variables), offline, into `outdir`; resolves with the cloud assembly.
 */
export async function synthesizeApp(outdir: string, timeoutMs: number): Promise<CloudAssembly> {
  const child = spawn(cdkJsonApp(), {
    cwd: ROOT,
    shell: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...offlineEnv(outdir), [OUTDIR_ENV]: outdir, [CONTEXT_ENV]: JSON.stringify(cdkJsonContext()) },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`synth did not finish in ${timeoutMs} ms\n${output}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (code !== 0) throw new Error(`synth failed (${String(code)})\n${output}`);
  return new CloudAssembly(outdir);
}

function objectAt(value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw new Error(`${what} is not an object: ${JSON.stringify(value)}`);
  return value;
}

function stringAt(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what} is not a string: ${JSON.stringify(value)}`);
  return value;
}

/** The logical id named by `{ Ref }` or `{ Fn::GetAtt: [id, attr] }`. */
function referencedId(value: unknown, what: string): string {
  const object = objectAt(value, what);
  if (typeof object['Ref'] === 'string') return object['Ref'];
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  throw new Error(`${what} is not a Ref or Fn::GetAtt: ${JSON.stringify(value)}`);
}

/** Every `Fn::GetAtt` target inside `value` (e.g. the function inside an authorizer URI). */
function getAttTargets(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(getAttTargets);
  if (!isObject(value)) return [];
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return [getAtt[0]];
  return Object.values(value).flatMap(getAttTargets);
}

export interface LocalStandins {
  readonly dynamo: DynamoDBClient;
  readonly kms: KmsStandin;
  /** Must be the KMS stand-in's region (its key ARNs name it). */
  readonly region: string;
}

/** A synthesized stack whose table(s) and key(s) exist locally. */
export class DeployedStack {
  private constructor(
    private readonly resources: JsonObject,
    private readonly assetDirs: ReadonlyMap<string, string>,
    /** Attribute values by logical id; `Ref` is the value of `{ Ref: id }`. */
    private readonly attributes: ReadonlyMap<string, Readonly<Record<string, string>>>,
    private readonly region: string,
  ) {}

  /** Reads the one stack of `assembly` and creates its tables and keys in the stand-ins. */
  static async deploy(assembly: CloudAssembly, standins: LocalStandins): Promise<DeployedStack> {
    const [stack, ...others] = assembly.stacksRecursively;
    if (stack === undefined || others.length > 0) throw new Error(`expected one stack, found ${assembly.stacksRecursively.length}`);
    const resources = objectAt(objectAt(stack.template, 'template')['Resources'], 'Resources');

    const assetDirs = new Map<string, string>();
    for (const dependency of stack.dependencies) {
      if (!(dependency instanceof AssetManifestArtifact)) continue;
      for (const [hash, file] of Object.entries(dependency.contents.files ?? {})) {
        if (file.source.path !== undefined) assetDirs.set(`${hash}.zip`, join(assembly.directory, file.source.path));
      }
    }

    const suffix = Date.now().toString(36);
    const attributes = new Map<string, Record<string, string>>();
    for (const [logicalId, value] of Object.entries(resources)) {
      const resource = objectAt(value, logicalId);
      const props = isObject(resource['Properties']) ? resource['Properties'] : {};
      switch (resource['Type']) {
        case 'AWS::DynamoDB::Table': {
          const tableName = `${logicalId}-${suffix}`;
          await createTable(standins.dynamo, tableName, props);
          attributes.set(logicalId, { Ref: tableName, Arn: `arn:aws:dynamodb:${standins.region}:${ACCOUNT_ID}:table/${tableName}` });
          break;
        }
        case 'AWS::KMS::Key': {
          const spec = stringAt(props['KeySpec'], `${logicalId} KeySpec`);
          // The MFA key (TOTP secrets) is symmetric; the others sign.
          if (spec !== 'SYMMETRIC_DEFAULT' && !isSupportedKeySpec(spec)) throw new Error(`the KMS stand-in has no ${spec} keys`);
          const key = spec === 'SYMMETRIC_DEFAULT' ? await standins.kms.createSymmetricKey(logicalId) : await standins.kms.createKey(spec);
          attributes.set(logicalId, { Ref: key.keyId, Arn: key.arn, KeyId: key.keyId });
          break;
        }
        case 'AWS::ApiGatewayV2::Api': {
          const apiId = `e2e${suffix}`.slice(0, 10).padEnd(10, '0');
          attributes.set(logicalId, { Ref: apiId, ApiEndpoint: `https://${apiId}.execute-api.${standins.region}.amazonaws.com` });
          break;
        }
        default:
      }
    }
    return new DeployedStack(resources, assetDirs, attributes, standins.region);
  }

  /** The value of a resource attribute (`Ref` for `{ Ref }`), e.g. the local table's name. */
  attribute(logicalId: string, name: string): string {
    const value = this.attributes.get(logicalId)?.[name];
    if (value === undefined) throw new Error(`${logicalId}.${name} is not deployed locally`);
    return value;
  }

  /** Logical ids of the resources of `type`. */
  resourcesOfType(type: string): string[] {
    return Object.entries(this.resources)
      .filter(([, resource]) => isObject(resource) && resource['Type'] === type)
      .map(([logicalId]) => logicalId);
  }

  /** The function behind the HTTP API route `routeKey` (e.g. `POST /login`). */
  routeFunction(routeKey: string): LambdaFunctionSpec {
    const integration = this.properties(referencedId(this.targetOf(routeKey), `${routeKey} integration`));
    return this.functionSpec(referencedId(integration['IntegrationUri'], `${routeKey} IntegrationUri`));
  }

  /** The Lambda authorizer guarding the HTTP API route `routeKey`. */
  routeAuthorizer(routeKey: string): LambdaFunctionSpec {
    const route = this.route(routeKey);
    const authorizer = this.properties(referencedId(route['AuthorizerId'], `${routeKey} AuthorizerId`));
    const [functionId, ...others] = getAttTargets(authorizer['AuthorizerUri']);
    if (functionId === undefined || others.length > 0) throw new Error(`${routeKey}: no single function in the AuthorizerUri`);
    return this.functionSpec(functionId);
  }

  /** Resolves the CloudFormation intrinsics an environment variable may hold. */
  resolve(value: unknown): string {
    if (typeof value === 'string') return value;
    const object = objectAt(value, 'intrinsic');
    const ref = object['Ref'];
    if (typeof ref === 'string') {
      const pseudo: Record<string, string> = {
        'AWS::Region': this.region,
        'AWS::AccountId': ACCOUNT_ID,
        'AWS::Partition': 'aws',
        'AWS::URLSuffix': 'amazonaws.com',
      };
      return pseudo[ref] ?? this.attribute(ref, 'Ref');
    }
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && typeof getAtt[1] === 'string') return this.attribute(getAtt[0], getAtt[1]);
    const join = object['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map((part) => this.resolve(part)).join(join[0]);
    }
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  }

  private properties(logicalId: string): JsonObject {
    return objectAt(objectAt(this.resources[logicalId], logicalId)['Properties'], `${logicalId} Properties`);
  }

  private route(routeKey: string): JsonObject {
    const routes = this.resourcesOfType('AWS::ApiGatewayV2::Route')
      .map((logicalId) => this.properties(logicalId))
      .filter((props) => props['RouteKey'] === routeKey);
    const [route, ...others] = routes;
    if (route === undefined || others.length > 0) throw new Error(`expected one route ${routeKey}, found ${routes.length}`);
    return route;
  }

  /** The integration a route targets: `Target` is `integrations/<integration id>`. */
  private targetOf(routeKey: string): unknown {
    const join = objectAt(this.route(routeKey)['Target'], `${routeKey} Target`)['Fn::Join'];
    const parts = Array.isArray(join) && Array.isArray(join[1]) ? join[1] : [];
    const integration = parts.find(isObject);
    if (parts[0] !== 'integrations/' || integration === undefined) throw new Error(`${routeKey}: unexpected Target ${JSON.stringify(join)}`);
    return integration;
  }

  private functionSpec(logicalId: string): LambdaFunctionSpec {
    const props = this.properties(logicalId);
    const s3Key = stringAt(objectAt(props['Code'], `${logicalId} Code`)['S3Key'], `${logicalId} S3Key`);
    const codeDir = this.assetDirs.get(s3Key);
    if (codeDir === undefined) throw new Error(`${logicalId}: no asset for ${s3Key}`);
    const variables = objectAt(objectAt(props['Environment'], `${logicalId} Environment`)['Variables'], `${logicalId} Variables`);
    return {
      name: logicalId,
      codeDir,
      handler: stringAt(props['Handler'], `${logicalId} Handler`),
      runtime: stringAt(props['Runtime'], `${logicalId} Runtime`),
      memorySize: Number(props['MemorySize'] ?? 128),
      timeoutSeconds: Number(props['Timeout'] ?? 3),
      environment: Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, this.resolve(value)])),
    };
  }
}

/** CreateTable and UpdateTimeToLive with the template's own key schema and TTL attribute. */
async function createTable(dynamo: DynamoDBClient, tableName: string, props: JsonObject): Promise<void> {
  for (const unsupported of ['GlobalSecondaryIndexes', 'LocalSecondaryIndexes', 'StreamSpecification']) {
    if (props[unsupported] !== undefined) throw new Error(`${unsupported} is not deployed locally yet`);
  }
  if (props['BillingMode'] !== 'PAY_PER_REQUEST') throw new Error(`BillingMode ${JSON.stringify(props['BillingMode'])} is not deployed locally`);
  const list = (name: string): JsonObject[] => {
    const value = props[name];
    if (!Array.isArray(value)) throw new Error(`${name} is not a list`);
    return value.map((item) => objectAt(item, name));
  };
  const attributeType = (value: unknown): ScalarAttributeType => {
    if (value === 'S' || value === 'N' || value === 'B') return value;
    throw new Error(`unexpected AttributeType ${JSON.stringify(value)}`);
  };
  const keyType = (value: unknown): KeyType => {
    if (value === 'HASH' || value === 'RANGE') return value;
    throw new Error(`unexpected KeyType ${JSON.stringify(value)}`);
  };
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: list('AttributeDefinitions').map((a) => ({
        AttributeName: stringAt(a['AttributeName'], 'AttributeName'),
        AttributeType: attributeType(a['AttributeType']),
      })),
      KeySchema: list('KeySchema').map((k) => ({ AttributeName: stringAt(k['AttributeName'], 'AttributeName'), KeyType: keyType(k['KeyType']) })),
    }),
  );
  const ttl = props['TimeToLiveSpecification'];
  if (isObject(ttl) && ttl['Enabled'] === true) {
    await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: stringAt(ttl['AttributeName'], 'TTL attribute'), Enabled: true },
      }),
    );
  }
}
