import { FUNCTION_NAMES } from '../../lib/function-access.ts';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SYNTH_TIMEOUT_MS, offlineEnv } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Enough configuration for every handler's cold-start checks (values are never used). */
const HANDLER_ENV = {
  TABLE_NAME: 'table',
  ISSUER: 'https://auth.example.com',
  AUDIENCE: 'kms-jwt-auth',
  SIGNING_ALG: 'ES256',
  SIGNING_KEY_ID: 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555',
  VERIFY_KEY_IDS: 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555',
  MFA_KEY_ID: 'arn:aws:kms:eu-west-1:111111111111:key/66666666-7777-8888-9999-000000000000',
  POWERTOOLS_SERVICE_NAME: 'kms-jwt-auth',
  LOG_LEVEL: 'ERROR',
  AWS_REGION: 'eu-west-1',
  // Lambda sets the function role's credentials in every container's environment.
  AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example-secret',
};

/**
 * `npx cdk synth` as an operator runs it, with no AWS credentials and no region: it must work
 * offline (local esbuild bundling, no lookups) and pass the cdk-nag validation plugins.
 */
describe('npx cdk synth', () => {
  it('synthesizes offline, without credentials, and passes cdk-nag', () => {
    const out = mkdtempSync(join(tmpdir(), 'kms-jwt-auth-synth-'));
    try {
      const env = offlineEnv(out);
      const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', out], {
        cwd: ROOT,
        env,
        encoding: 'utf8',
        timeout: SYNTH_TIMEOUT_MS - 10_000,
      });
      expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
      const templatePath = join(out, 'KmsJwtAuth.template.json');
      expect(existsSync(templatePath)).toBe(true);
      const template: unknown = JSON.parse(readFileSync(templatePath, 'utf8'));
      expect(JSON.stringify(template)).toContain('AWS::KMS::Key');
      const report: unknown = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8'));
      expect(report).toMatchObject({ pluginReports: [] });

      // Each function's asset is a minified ES module that loads. All but the authorizer carry a
      // source map and the `require` shim; the authorizer (told apart by its environment) has
      // neither, and nothing in it calls `require`, which would throw in an ES module.
      const functions = Object.values((template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }).Resources).filter(
        (resource) => resource.Type === 'AWS::Lambda::Function',
      );
      expect(functions).toHaveLength(FUNCTION_NAMES.length);
      for (const fn of functions) {
        const hash = /^([0-9a-f]{64})\.zip$/.exec(String((fn.Properties.Code as { S3Key?: unknown }).S3Key))?.[1];
        expect(hash).toBeDefined();
        const isAuthorizer = JSON.stringify(fn.Properties.Environment).includes('"AUTHORIZER_RESPONSE"');
        const bundle = join(out, `asset.${hash ?? ''}`, 'index.mjs');
        expect(existsSync(bundle), bundle).toBe(true);
        expect(existsSync(`${bundle}.map`), `${bundle}.map`).toBe(!isAuthorizer);
        const code = readFileSync(bundle, 'utf8');
        // The require shim (lib/bundling.ts) is in every bundle but the authorizer's, which has no
        // CommonJS: its one createRequire loads node:https/node:http without undici (see
        // lambdas/adapters/aws/https-transport.ts).
        expect(code.includes('__kmsJwtAuthCreateRequire'), bundle).toBe(!isAuthorizer);
        if (isAuthorizer) expect(code).not.toMatch(/__require/);
        const loaded = spawnSync(
          process.execPath,
          ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log(typeof m.handler);`],
          { env: { ...env, ...HANDLER_ENV }, encoding: 'utf8', timeout: 30_000 },
        );
        expect(loaded.stdout.trim(), loaded.stderr).toBe('function');
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, SYNTH_TIMEOUT_MS);
});
