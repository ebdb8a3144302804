/**
 * Shared helpers for the CDK assertion tests: an App configured like `cdk synth` (the context of
 * cdk.json), template walkers for IAM and key policies, and cdk-nag reports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** Long enough for esbuild to bundle five functions on a slow CI machine. */
export const SYNTH_TIMEOUT_MS = 180_000;

export const CDK_JSON_PATH = fileURLToPath(new URL('../../cdk.json', import.meta.url));

function cdkJson(): object {
  const parsed: unknown = JSON.parse(readFileSync(CDK_JSON_PATH, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('cdk.json is not an object');
  return parsed;
}

/** The `context` of cdk.json, so tests synthesize with the same feature flags as the CLI. */
export function cdkJsonContext(): Record<string, unknown> {
  const parsed = cdkJson();
  if (!('context' in parsed)) throw new Error('cdk.json has no context');
  const context: unknown = parsed.context;
  if (typeof context !== 'object' || context === null) throw new Error('cdk.json context is not an object');
  return { ...context };
}

/** The `app` of cdk.json: the command the CLI runs to synthesize (e.g. `npx tsx bin/app.ts`). */
export function cdkJsonApp(): string {
  const parsed = cdkJson();
  const app: unknown = 'app' in parsed ? parsed.app : undefined;
  if (typeof app !== 'string' || app === '') throw new Error('cdk.json has no app command');
  return app;
}

/**
 * The environment of an operator's shell without AWS: no credentials, no region, no profile
 * (synth must need none of them); `scratchDir` holds the missing credentials and config files.
 */
export function offlineEnv(scratchDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_') && !key.startsWith('CDK_')) env[key] = value;
  }
  env['AWS_EC2_METADATA_DISABLED'] = 'true';
  env['AWS_SHARED_CREDENTIALS_FILE'] = join(scratchDir, 'no-credentials');
  env['AWS_CONFIG_FILE'] = join(scratchDir, 'no-config');
  env['NODE_ENV'] = 'production'; // vitest sets "test", which changes how CDK reports validation
  return env;
}

export function testApp(extraContext: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), ...extraContext } });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface PolicyStatementJson {
  readonly Effect?: string;
  readonly Action?: Json;
  readonly Resource?: Json;
  readonly Principal?: Json;
  readonly Condition?: Json;
  readonly Sid?: string;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function actionsOf(statement: PolicyStatementJson): string[] {
  return asArray(statement.Action).filter((a): a is string => typeof a === 'string');
}

function statementsOf(document: Json | undefined): PolicyStatementJson[] {
  if (!isObject(document)) return [];
  return asArray(document['Statement']).filter(isObject);
}

/** Every policy document in the template, with where it comes from. */
export function allPolicyDocuments(template: Template): { source: string; statements: PolicyStatementJson[] }[] {
  const result: { source: string; statements: PolicyStatementJson[] }[] = [];
  for (const [logicalId, resource] of Object.entries(template.toJSON()['Resources'] ?? {})) {
    if (!isObject(resource)) continue;
    const type = resource['Type'];
    const props = isObject(resource['Properties']) ? resource['Properties'] : {};
    if (type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy') {
      result.push({ source: `${logicalId} (${type})`, statements: statementsOf(props['PolicyDocument']) });
    }
    if (type === 'AWS::IAM::Role') {
      result.push({ source: `${logicalId} trust`, statements: statementsOf(props['AssumeRolePolicyDocument']) });
      for (const inline of asArray(props['Policies'])) {
        if (isObject(inline)) result.push({ source: `${logicalId} inline`, statements: statementsOf(inline['PolicyDocument']) });
      }
    }
    if (type === 'AWS::KMS::Key') {
      result.push({ source: `${logicalId} key policy`, statements: statementsOf(props['KeyPolicy']) });
    }
  }
  return result;
}

/** Logical ids of the roles an `AWS::IAM::Policy` granting `action` is attached to. */
export function rolesGranted(template: Template, action: string): string[] {
  const roles = new Set<string>();
  for (const resource of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const props = isObject(resource['Properties']) ? resource['Properties'] : {};
    const grants = statementsOf(props['PolicyDocument']).some(
      (s) => s.Effect === 'Allow' && actionsOf(s).some((a) => a === action || a === '*' || a === `${action.split(':')[0]}:*`),
    );
    if (!grants) continue;
    for (const role of asArray(props['Roles'])) {
      if (isObject(role) && typeof role['Ref'] === 'string') roles.add(role['Ref']);
    }
  }
  return [...roles].sort();
}

/** The statements of the IAM policies attached to one role. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  const statements: PolicyStatementJson[] = [];
  for (const resource of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const props = isObject(resource['Properties']) ? resource['Properties'] : {};
    const attached = asArray(props['Roles']).some((role) => isObject(role) && role['Ref'] === roleLogicalId);
    if (attached) statements.push(...statementsOf(props['PolicyDocument']));
  }
  return statements;
}

/** Logical id of a construct's underlying CloudFormation resource, from a `Ref`. */
export function logicalIdOf(stack: Stack, ref: string): string {
  const resolved: unknown = stack.resolve(ref);
  if (isObject(resolved)) {
    const getAtt = resolved['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    if (typeof resolved['Ref'] === 'string') return resolved['Ref'];
  }
  throw new Error(`cannot find the logical id behind ${JSON.stringify(resolved)}`);
}

export interface NagFinding {
  readonly pack: string;
  readonly rule: string;
  readonly severity: string;
  readonly paths: readonly string[];
}

/** Every unacknowledged cdk-nag finding (errors and warnings) of both packs under `scope`. */
export function nagFindings(scope: IConstruct): NagFinding[] {
  const packs = [new AwsSolutionsChecks(), new ServerlessChecks()];
  return packs.flatMap((pack) =>
    pack.validateScope(scope).violations.map((violation) => ({
      pack: pack.name,
      rule: violation.ruleName,
      severity: violation.severity ?? 'unknown',
      paths: violation.violatingResources.map((resource) => resource.constructPath ?? resource.resourceLogicalId ?? '?'),
    })),
  );
}

/** Every acknowledgment recorded with `Validations.of(x).acknowledge` under `scope`. */
export function acknowledgments(scope: IConstruct): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const construct of scope.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !isObject(entry.data)) continue;
      for (const [id, reason] of Object.entries(entry.data)) {
        found.push({ path: construct.node.path, id, reason: typeof reason === 'string' ? reason : JSON.stringify(reason) });
      }
    }
  }
  return found;
}
