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
