/**
 * How the functions are bundled, shared by the stack (`AuthFunction`) and by `npm run bench`, so
 * the benchmark measures the authorizer exactly as it is deployed. No CDK imports here: the bench
 * loads this file too.
 */

/** esbuild target; matches the `nodejs24.x` runtime. */
export const BUNDLE_TARGET = 'node24';

/**
 * ESM bundles still meet CommonJS dependencies that call `require` for Node built-ins (parts of
 * the AWS SDK do); in an ES module `require` does not exist, so such a bundle defines it.
 * https://github.com/evanw/esbuild/issues/1921. It costs an import of `node:module` (1-2 ms at
 * cold start), so bundles without CommonJS (the authorizer's) go without.
 */
export const ESM_REQUIRE_SHIM =
  "import { createRequire as __kmsJwtAuthCreateRequire } from 'node:module'; const require = __kmsJwtAuthCreateRequire(import.meta.url);";

/** Per-function choices on top of the shared settings. */
export interface BundleChoices {
  /** Source maps, loaded at every cold start with `--enable-source-maps`. */
  readonly sourceMaps: boolean;
  /** The `require` shim above, for bundles with CommonJS dependencies. */
  readonly requireShim: boolean;
}

/** The authorizer's: its cold start delays requests to every protected API, and it has no CommonJS. */
export const AUTHORIZER_BUNDLE: BundleChoices = { sourceMaps: false, requireShim: false };

/**
 * The esbuild settings every function is bundled with, in esbuild's own names: minified ESM for
 * the runtime, module-first (the ESM builds of dependencies, which tree-shake), everything
 * bundled. `AuthFunction` passes them to `NodejsFunction`; the bench hands them to esbuild.
 */
export function bundleSettings(choices: BundleChoices): {
  readonly target: string;
  readonly format: 'esm';
  readonly mainFields: readonly string[];
  readonly minify: true;
  readonly sourcemap: boolean;
  readonly banner?: string;
} {
  return {
    target: BUNDLE_TARGET,
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: choices.sourceMaps,
    ...(choices.requireShim ? { banner: ESM_REQUIRE_SHIM } : {}),
  };
}
