/**
 * `npm test` shows what matters: a passing test's logs (the handlers' Powertools JSON lines, the
 * authorizer's `console` lines, CDK's bundling progress) stay out of the output, a failing test's
 * logs are shown with its failure. Runs vitest, with the repository's config, on a fixture of
 * one passing and one failing test that log.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

it(
  'hides the logs of passing tests and shows those of failing ones',
  () => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    // The child must read the config's own env, not this worker's.
    delete env['POWERTOOLS_DEV'];
    const result = spawnSync('npx', ['vitest', 'run', '--dir', 'test/fixtures/test-output'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${result.stdout}${result.stderr}`;
    // The fixture ran: one test passed, one failed as it should.
    expect(output, output).toMatch(/1 failed \| 1 passed/);
    expect(result.status).toBe(1);
    for (const line of ['FIXTURE-PASSING-POWERTOOLS', 'FIXTURE-PASSING-CONSOLE', 'Bundling asset']) {
      expect(output, output).not.toContain(line);
    }
    for (const line of ['FIXTURE-FAILING-POWERTOOLS', 'FIXTURE-FAILING-CONSOLE']) {
      expect(output, output).toContain(line);
    }
  },
  180_000,
);
