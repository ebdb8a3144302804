/**
 * A loopback HTTP proxy that forwards to an AWS-protocol endpoint (DynamoDB Local) and counts the
 * operations it sees by `X-Amz-Target`, so tests can assert how many calls an operation made.
 * It can also be told to fail requests, to simulate an outage.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  readonly url: string;
  setUpstream(url: string): void;
  counts(): Record<string, number>;
  /**
   * The IAM actions the requests since the last reset need ("Actions, resources, and condition
   * keys for Amazon DynamoDB"): the operation itself, except that TransactWriteItems is authorized
   * per item (PutItem, UpdateItem, DeleteItem, ConditionCheckItem); BatchWriteItem needs its own
   * action, and the per-item ones are listed too so that a grant of either shows up.
   */
  iamActions(): Set<string>;
  reset(): void;
  total(): number;
  /**
   * While set, every request (or, with `operations`, every request of those operations) is
   * answered with this status and a DynamoDB-shaped error body.
   */
  failWith(error: { status: number; type: string; operations?: readonly string[] } | undefined): void;
  /**
   * Fails requests of one operation only (503 ServiceUnavailable): the next `times` of them after
   * letting `skip` through. A fault in the middle of a multi-step operation.
   */
  failOperation(rule: { readonly operation: string; readonly skip?: number; readonly times: number } | undefined): void;
  close(): Promise<void>;
}

export async function startCountingProxy(): Promise<CountingProxy> {
  let upstream: URL | undefined;
  let failure: { status: number; type: string; operations?: readonly string[] } | undefined;
  let operationFailure: { operation: string; skip: number; times: number } | undefined;
  let counts: Record<string, number> = {};
  let actions = new Set<string>();
  const server: Server = createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? 'unknown');
    const operation = target.includes('.') ? target.slice(target.indexOf('.') + 1) : target;
    counts[operation] = (counts[operation] ?? 0) + 1;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    for (const action of iamActionsOf(operation, body)) actions.add(action);
    let injected = false;
    if (operationFailure !== undefined && operationFailure.operation === operation) {
      if (operationFailure.skip > 0) operationFailure.skip -= 1;
      else if (operationFailure.times > 0) {
        operationFailure.times -= 1;
        injected = true;
      }
    }
    const failing = failure !== undefined && (failure.operations === undefined || failure.operations.includes(operation));
    if (failing || injected || upstream === undefined) {
      const { status, type } = failing && failure !== undefined ? failure : { status: 503, type: 'ServiceUnavailable' };
      res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-ErrorType': type });
      res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: 'injected by test' }));
      return;
    }
    const forward = request(
      { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    forward.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setUpstream: (url) => {
      upstream = new URL(url);
    },
    counts: () => ({ ...counts }),
    iamActions: () => new Set(actions),
    reset: () => {
      counts = {};
      actions = new Set();
    },
    total: () => Object.values(counts).reduce((sum, n) => sum + n, 0),
    failWith: (error) => {
      failure = error;
    },
    failOperation: (rule) => {
      operationFailure = rule === undefined ? undefined : { operation: rule.operation, skip: rule.skip ?? 0, times: rule.times };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const PER_ITEM_ACTION: Readonly<Record<string, string>> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  PutRequest: 'PutItem',
  DeleteRequest: 'DeleteItem',
};

function iamActionsOf(operation: string, body: Buffer): string[] {
  if (operation !== 'TransactWriteItems' && operation !== 'BatchWriteItem') return [`dynamodb:${operation}`];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [`dynamodb:${operation}`];
  }
  const requests: unknown[] = [];
  if (typeof parsed === 'object' && parsed !== null) {
    const record = parsed as Record<string, unknown>;
    if (Array.isArray(record['TransactItems'])) requests.push(...record['TransactItems']);
    if (typeof record['RequestItems'] === 'object' && record['RequestItems'] !== null) {
      for (const list of Object.values(record['RequestItems'] as Record<string, unknown>)) if (Array.isArray(list)) requests.push(...list);
    }
  }
  const perItem = requests.flatMap((request) =>
    typeof request === 'object' && request !== null
      ? Object.keys(request).map((kind) => `dynamodb:${PER_ITEM_ACTION[kind] ?? kind}`)
      : [],
  );
  return operation === 'BatchWriteItem' ? ['dynamodb:BatchWriteItem', ...perItem] : perItem;
}
