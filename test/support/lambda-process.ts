/**
 * Runs a deployed function's code the way Lambda does, in a fresh Node process per execution
 * environment (test/support/lambda-runtime.mjs is the runtime inside it): starting one is a cold
 * start, each `invoke` on it a warm invocation.
 *
 * The process gets only the environment a Lambda execution environment has: the reserved
 * variables Lambda sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
 * the function's own `Environment.Variables`, and the AWS settings the caller passes (region,
 * credentials, endpoints). Nothing leaks in from the test process's environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const RUNTIME_SCRIPT = fileURLToPath(new URL('./lambda-runtime.mjs', import.meta.url));
const ACCOUNT_ID = '123456789012';
/** How long an environment may take to load its code (Lambda's init phase is capped at 10 s). */
const INIT_TIMEOUT_MS = 20_000;

/** What Lambda needs to run a function: its code folder and its configuration. */
export interface LambdaFunctionSpec {
  /** The function name (also used for the log group and the invoked ARN). */
  readonly name: string;
  /** The unzipped code asset (`LAMBDA_TASK_ROOT`). */
  readonly codeDir: string;
  /** `Handler`, e.g. `index.handler`. */
  readonly handler: string;
  /** `Runtime`, e.g. `nodejs24.x`. */
  readonly runtime: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** `Environment.Variables`, resolved to strings. */
  readonly environment: Readonly<Record<string, string>>;
}

export type Invocation =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly errorType: string; readonly errorMessage: string };

type RuntimeMessage =
  | { type: 'ready'; initMs: number }
  | { type: 'init-error'; errorType: string; errorMessage: string }
  | { type: 'result'; id: string; result: unknown }
  | { type: 'error'; id: string; errorType: string; errorMessage: string };

function parseMessage(line: string): RuntimeMessage {
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== 'object' || parsed === null || !('type' in parsed)) throw new Error(`unexpected runtime message: ${line}`);
  return parsed as RuntimeMessage;
}

export class LambdaProcess {
  private readonly pending = new Map<string, { resolve: (invocation: Invocation) => void; reject: (error: Error) => void }>();
  private queue: Promise<unknown> = Promise.resolve();
  private exited: Error | undefined;

  private constructor(
    readonly spec: LambdaFunctionSpec,
    private readonly child: ChildProcess,
    private readonly region: string,
    /** How long the init phase (importing the bundle) took, measured inside the process. */
    readonly initMs: number,
    /** Everything the function wrote to stdout and stderr (its CloudWatch log stream), by line. */
    readonly logLines: readonly string[],
  ) {}

  /**
   * Starts a new execution environment for `spec` and waits for its init phase (the bundle's
   * import) to finish. `aws` holds the region, credentials and endpoints.
   */
  static async start(spec: LambdaFunctionSpec, aws: Readonly<Record<string, string>>): Promise<LambdaProcess> {
    const region = aws['AWS_REGION'];
    if (region === undefined) throw new Error('AWS_REGION is required');
    const child = spawn(process.execPath, [RUNTIME_SCRIPT], {
      cwd: spec.codeDir,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: {
        ...aws,
        AWS_DEFAULT_REGION: region,
        AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
        AWS_LAMBDA_FUNCTION_NAME: spec.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
        AWS_LAMBDA_LOG_STREAM_NAME: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
        LAMBDA_TASK_ROOT: spec.codeDir,
        LANG: 'en_US.UTF-8',
        TZ: ':UTC',
        _HANDLER: spec.handler,
        // Last, as in Lambda: the function's own variables (NODE_OPTIONS among them) apply to the process.
        ...spec.environment,
      },
    });
    const results = child.stdio[3] as Readable;
    const lines = createInterface({ input: results, crlfDelay: Infinity });
    const ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.name}: init did not finish in ${INIT_TIMEOUT_MS} ms`)), INIT_TIMEOUT_MS);
      lines.once('line', (line) => {
        clearTimeout(timer);
        const message = parseMessage(line);
        if (message.type === 'ready') resolve(message.initMs);
        else if (message.type === 'init-error') reject(new Error(`${spec.name}: init failed: ${message.errorType}: ${message.errorMessage}`));
        else reject(new Error(`${spec.name}: unexpected first message ${line}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${spec.name}: exited with ${String(code)} during init`));
      });
    });
    const logLines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => logLines.push(line));
    }
    let initMs: number;
    try {
      initMs = await ready;
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logLines.join('\n')}`);
    }
    const environment = new LambdaProcess(spec, child, region, initMs, logLines);
    lines.on('line', (line) => environment.settle(parseMessage(line)));
    child.once('exit', (code, signal) => {
      environment.exited = new Error(`${spec.name}: process exited (${String(code ?? signal)})`);
      for (const waiter of environment.pending.values()) waiter.reject(environment.exited);
      environment.pending.clear();
    });
    return environment;
  }

  /**
   * Invokes the function with `event`, after any invocation already in flight (one event at a
   * time per environment). Rejects if the function runs past its configured timeout.
   */
  invoke(event: unknown): Promise<Invocation> {
    const run = this.queue.then(() => this.send(event));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Invokes and returns the result, failing the test with the error and the logs otherwise. */
  async call(event: unknown): Promise<unknown> {
    const invocation = await this.invoke(event);
    if (!invocation.ok) {
      throw new Error(`${this.spec.name} failed: ${invocation.errorType}: ${invocation.errorMessage}\n${this.logLines.slice(-20).join('\n')}`);
    }
    return invocation.result;
  }

  /** Ends the environment (Lambda's shutdown phase, without the SIGTERM grace period). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  private send(event: unknown): Promise<Invocation> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    const id = randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const invokedFunctionArn = `arn:aws:lambda:${this.region}:${ACCOUNT_ID}:function:${this.spec.name}`;
    return new Promise<Invocation>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.spec.name}: Task timed out after ${this.spec.timeoutSeconds} seconds\n${this.logLines.slice(-20).join('\n')}`));
        void this.stop();
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (invocation) => {
          clearTimeout(timer);
          resolve(invocation);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      (this.child.stdin as Writable).write(`${JSON.stringify({ id, event, deadlineMs: Date.now() + timeoutMs, invokedFunctionArn })}\n`);
    });
  }

  private settle(message: RuntimeMessage): void {
    if (message.type !== 'result' && message.type !== 'error') return;
    const waiter = this.pending.get(message.id);
    if (waiter === undefined) return;
    this.pending.delete(message.id);
    waiter.resolve(
      message.type === 'result'
        ? { ok: true, result: message.result }
        : { ok: false, errorType: message.errorType, errorMessage: message.errorMessage },
    );
  }
}
