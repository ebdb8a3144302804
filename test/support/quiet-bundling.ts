/**
 * Vitest setup file. CDK announces each asset it bundles with a line written straight to stderr
 * (`Bundling asset <path>...`, aws-cdk-lib's AssetStaging), which vitest cannot attribute to a
 * test: the infra tests print 25 of them on every run. Only that exact line is dropped; esbuild's
 * warnings and errors, and everything else on stderr, still show.
 */
const BUNDLING_PROGRESS = /^Bundling asset \S+\.\.\.\n$/;

type Write = typeof process.stderr.write;
const write: Write = process.stderr.write.bind(process.stderr);

process.stderr.write = ((chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
  if (typeof chunk === 'string' && BUNDLING_PROGRESS.test(chunk)) {
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }
  return (write as (...args: unknown[]) => boolean)(chunk, encodingOrCallback, callback);
}) as Write;
