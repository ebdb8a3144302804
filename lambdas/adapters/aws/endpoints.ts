/**
 * Where the authorizer sends its DynamoDB and KMS requests, resolved the way the AWS SDKs do
 * ("Service-specific endpoints" and "Dual-stack and FIPS endpoints" in the AWS SDKs and Tools
 * Reference Guide), for the one case it needs: a regional endpoint of the JSON-protocol service.
 *
 *  1. `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_KMS`, then `AWS_ENDPOINT_URL`, unless
 *     `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (that is how the local stand-ins are reached);
 *  2. otherwise the partition of `AWS_REGION` decides the DNS suffix (`amazonaws.com`,
 *     `amazonaws.com.cn` in China), and `AWS_USE_FIPS_ENDPOINT=true` the FIPS 140 host
 *     (`kms-fips.<region>.<suffix>`, `dynamodb-fips.<region>.<suffix>`; in GovCloud, DynamoDB's
 *     regional endpoint is already the FIPS one). A unit test compares every answer with the SDK's own endpoint
 *     rules, so the two clients of this project cannot drift apart.
 *
 * What the SDK would refuse, this refuses at cold start with a `ConfigurationError`: FIPS together
 * with a custom endpoint, a flag that is not "true"/"false", and also a region of a partition this
 * code does not know (the isolated ones: set the endpoint variables there).
 */
import { ConfigurationError } from '../../core/errors.ts';

export type AwsService = 'dynamodb' | 'kms';

interface Partition {
  readonly name: 'aws' | 'aws-cn' | 'aws-us-gov';
  readonly dnsSuffix: string;
}

/** From the SDK's partitions.json (`@aws-sdk/util-endpoints`): region patterns and suffixes. */
const CHINA: Partition = { name: 'aws-cn', dnsSuffix: 'amazonaws.com.cn' };
const GOVCLOUD: Partition = { name: 'aws-us-gov', dnsSuffix: 'amazonaws.com' };
const COMMERCIAL: Partition = { name: 'aws', dnsSuffix: 'amazonaws.com' };

const REGION_SHAPE = /^[a-z]{2,4}(-[a-z]+)+-\d+$/;

export function partitionOf(region: string): Partition {
  if (!REGION_SHAPE.test(region)) throw new ConfigurationError(`AWS_REGION "${region.slice(0, 40)}" is not a region name`);
  if (/^cn-\w+-\d+$/.test(region)) return CHINA;
  if (/^us-gov-\w+-\d+$/.test(region)) return GOVCLOUD;
  // The isolated partitions (us-iso-*, us-isob-*, eu-isoe-*, us-isof-*, eusc-*) have their own
  // suffixes; rather than guess one, ask for the endpoint to be configured.
  if (/^(\w+-iso\w*-|eusc-)/.test(region)) {
    throw new ConfigurationError(`AWS_REGION ${region} is in a partition this authorizer does not resolve: set AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS`);
  }
  return COMMERCIAL;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The SDK's reading of a boolean setting: exactly "true" or "false" (any case), else an error. */
function booleanSetting(env: Env, name: string): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return false;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigurationError(`${name} must be "true" or "false"`);
}

const SERVICE_ENDPOINT_VARIABLE: Record<AwsService, string> = {
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  kms: 'AWS_ENDPOINT_URL_KMS',
};

export function resolveEndpoint(service: AwsService, env: Env): URL {
  const fips = booleanSetting(env, 'AWS_USE_FIPS_ENDPOINT');
  if (!booleanSetting(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS')) {
    const configured = env[SERVICE_ENDPOINT_VARIABLE[service]]?.trim() || env.AWS_ENDPOINT_URL?.trim();
    if (configured) {
      if (fips) throw new ConfigurationError('AWS_USE_FIPS_ENDPOINT cannot be combined with a configured endpoint URL');
      return parseEndpoint(configured, service);
    }
  }
  const region = env.AWS_REGION?.trim();
  if (!region) throw new ConfigurationError('AWS_REGION is not set');
  const partition = partitionOf(region);
  if (!fips) return new URL(`https://${service}.${region}.${partition.dnsSuffix}`);
  // DynamoDB's GovCloud regional endpoints are FIPS endpoints; elsewhere FIPS is "<service>-fips".
  const host = service === 'dynamodb' && partition === GOVCLOUD ? service : `${service}-fips`;
  return new URL(`https://${host}.${region}.${partition.dnsSuffix}`);
}

function parseEndpoint(text: string, service: AwsService): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(`the ${service} endpoint URL is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigurationError(`the ${service} endpoint must be http(s)`);
  return url;
}
