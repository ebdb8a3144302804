/**
 * `npm run build` (run by `npm pack` through `prepack`): everything the package ships, in dist/.
 * - dist/lambdas/<name>/index.mjs: each function bundled once, with the settings `AuthFunction`
 *   gives `NodejsFunction` (lib/bundling.ts), so a consumer's `cdk synth` only zips them: no
 *   esbuild, no Docker, no TypeScript setup on their side. The bundles carry their own
 *   dependencies (jose, AWS SDK, middy, Powertools), which therefore are not the package's.
 * - dist/lib/index.js: the construct library as one ES module; aws-cdk-lib and constructs stay
 *   imports (peers: the consumer's copies, so `instanceof` and construct trees work). It finds
 *   the bundles at `../lambdas/<name>/` (lib/kms-jwt-auth.ts).
 * - dist/client/index.js: the client, dependency-free, for browsers and Node.
 * - dist/cli/admin.mjs: the operator CLI (`kms-jwt-auth-admin`, the package's `bin`), bundled with
 *   the AWS SDK clients it uses, so operators of an installed package run it with no install step.
 * - dist/types: declarations from tsc (tsconfig.build.json).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleSettings } from '../lib/bundling.ts';
import { FUNCTION_NAMES } from '../lib/function-access.ts';
import { FUNCTION_SETTINGS } from '../lib/kms-jwt-auth.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = `${root}dist/`;

rmSync(dist, { recursive: true, force: true });

await Promise.all([
  ...FUNCTION_NAMES.map(async (name) => {
    const choices = FUNCTION_SETTINGS[name];
    const settings = bundleSettings({ sourceMaps: choices.sourceMaps ?? true, requireShim: choices.requireShim ?? true });
    await build({
      entryPoints: [`${root}lambdas/${name}/handler.ts`],
      outfile: `${dist}lambdas/${name}/index.mjs`,
      bundle: true,
      platform: 'node',
      format: settings.format,
      target: settings.target,
      mainFields: [...settings.mainFields],
      minify: settings.minify,
      sourcemap: settings.sourcemap,
      sourcesContent: false,
      ...(settings.banner !== undefined ? { banner: { js: settings.banner } } : {}),
      logLevel: 'warning',
    });
  }),
  build({
    entryPoints: [`${root}lib/index.ts`],
    outfile: `${dist}lib/index.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    logLevel: 'warning',
  }),
  build({
    entryPoints: [`${root}cli/admin.ts`],
    outfile: `${dist}cli/admin.mjs`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    // The SDK's bundled CommonJS calls require() for Node built-ins; an ES module has none.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __kmsJwtAuthRequire } from 'node:module'; const require = __kmsJwtAuthRequire(import.meta.url);" },
    logLevel: 'warning',
  }),
  build({
    entryPoints: [`${root}client/index.ts`],
    outfile: `${dist}client/index.js`,
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    target: 'es2022',
    logLevel: 'warning',
  }),
]);

execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
