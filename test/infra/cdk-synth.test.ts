import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SYNTH_TIMEOUT_MS } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `npx cdk synth` as an operator runs it, with no AWS credentials and no region: it must work
 * offline (local esbuild bundling, no lookups) and pass the cdk-nag validation plugins.
 */
describe('npx cdk synth', () => {
  it('synthesizes offline, without credentials, and passes cdk-nag', () => {
    const out = mkdtempSync(join(tmpdir(), 'kms-jwt-auth-synth-'));
    try {
      const env: NodeJS.ProcessEnv = {};
      for (const [key, value] of Object.entries(process.env)) {
        if (!key.startsWith('AWS_') && !key.startsWith('CDK_')) env[key] = value;
      }
      env['AWS_EC2_METADATA_DISABLED'] = 'true';
      env['AWS_SHARED_CREDENTIALS_FILE'] = join(out, 'no-credentials');
      env['AWS_CONFIG_FILE'] = join(out, 'no-config');
      env['NODE_ENV'] = 'production'; // vitest sets "test", which changes how CDK reports validation
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
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, SYNTH_TIMEOUT_MS);
});
