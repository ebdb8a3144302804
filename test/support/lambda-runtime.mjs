/**
 * A stand-in for the AWS Lambda Node.js runtime, run as its own process (`node lambda-runtime.mjs`)
 * by test/support/lambda-process.ts: one process is one execution environment.
 *
 * What it does, after the managed runtime (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html):
 * - Init: resolves `_HANDLER` (`<module>.<export>`, e.g. `index.handler`) against
 *   `LAMBDA_TASK_ROOT`, trying `<module>.js`, `.mjs`, `.cjs` in that order, and imports the module
 *   once (its top level runs once per environment: a cold start).
 * - Invoke: calls the exported function with `(event, context)` and awaits it. Node.js 24 runs
 *   only async (promise) handlers; callback handlers are not supported there, so neither here.
 *   Invocations run one at a time, as Lambda sends an environment one event at a time.
 * - Errors: a thrown error becomes `{ errorType, errorMessage }`, the shape Lambda reports (API
 *   Gateway reads `errorMessage === 'Unauthorized'` from an authorizer as 401).
 *
 * Protocol: events arrive on stdin as JSON lines `{ "id", "event", "deadlineMs", "invokedFunctionArn" }`
 * (what Lambda's Runtime API sends with each event: the event, the deadline and the invoked ARN, as
 * the `Lambda-Runtime-Deadline-Ms` and `Lambda-Runtime-Invoked-Function-Arn` headers); answers leave on file
 * descriptor 3 as JSON lines (`{ "type": "ready", "initMs" }` once, then
 * `{ "type": "result", "id", "result" }` or `{ "type": "error", "id", "errorType", "errorMessage" }`).
 * stdout and stderr stay the function's own log stream, as in Lambda, where they go to CloudWatch
 * Logs and never to the caller.
 */
import { existsSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const RESULTS_FD = 3;

/** @param {Record<string, unknown>} message */
function answer(message) {
  writeSync(RESULTS_FD, `${JSON.stringify(message)}\n`);
}

/** @param {string} name */
function requiredEnv(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** @param {unknown} error */
function describeError(error) {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message };
  return { errorType: 'Error', errorMessage: String(error) };
}

async function loadHandler() {
  const taskRoot = requiredEnv('LAMBDA_TASK_ROOT');
  const spec = requiredEnv('_HANDLER');
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) throw new Error(`_HANDLER "${spec}" is not <module>.<export>`);
  const moduleName = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => join(taskRoot, `${moduleName}${ext}`)).find((path) => existsSync(path));
  if (file === undefined) throw new Error(`Runtime.ImportModuleError: no ${moduleName}.js, .mjs or .cjs in ${taskRoot}`);
  /** @type {Record<string, unknown>} */
  const loaded = await import(pathToFileURL(file).href);
  const handler = loaded[exportName];
  if (typeof handler !== 'function') throw new Error(`Runtime.HandlerNotFound: ${spec} is not a function`);
  return handler;
}

/**
 * The context object Lambda passes as the second argument.
 * @param {number} deadlineMs
 * @param {string} invokedFunctionArn
 */
function invocationContext(deadlineMs, invokedFunctionArn) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: requiredEnv('AWS_LAMBDA_FUNCTION_NAME'),
    functionVersion: requiredEnv('AWS_LAMBDA_FUNCTION_VERSION'),
    invokedFunctionArn,
    memoryLimitInMB: requiredEnv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE'),
    awsRequestId: randomUUID(),
    logGroupName: requiredEnv('AWS_LAMBDA_LOG_GROUP_NAME'),
    logStreamName: requiredEnv('AWS_LAMBDA_LOG_STREAM_NAME'),
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
}

const started = performance.now();
let handler;
try {
  handler = await loadHandler();
} catch (error) {
  answer({ type: 'init-error', ...describeError(error) });
  process.exit(1);
}
answer({ type: 'ready', initMs: Math.round(performance.now() - started) });

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  /** @type {{ id: unknown, event: unknown, deadlineMs: number, invokedFunctionArn: string }} */
  const { id, event, deadlineMs, invokedFunctionArn } = JSON.parse(line);
  try {
    const result = await handler(event, invocationContext(deadlineMs, invokedFunctionArn));
    // Lambda returns the JSON serialization of the result; `undefined` arrives as null.
    answer({ type: 'result', id, result: result ?? null });
  } catch (error) {
    answer({ type: 'error', id, ...describeError(error) });
  }
}
