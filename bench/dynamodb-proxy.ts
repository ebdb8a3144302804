/**
 * A loopback proxy in front of DynamoDB Local that records what passes: requests per operation,
 * the last request body per operation (bench/read-shape.ts learns our read from it), and the read
 * units DynamoDB reports. It adds `"ReturnConsumedCapacity": "TOTAL"` to each request it forwards
 * (DynamoDB answers with `ConsumedCapacity` only when asked; DynamoDB Local accepts any signature,
 * so the changed body still passes) and sums `CapacityUnits` from the answers.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordingProxy {
  readonly url: string;
  readonly requests: Map<string, number>;
  readonly lastBody: Map<string, string>;
  /** Sum of `ConsumedCapacity.CapacityUnits` (one entry, or a list for batch operations). */
  readUnits: number;
  /** Requests whose answer carried no `ConsumedCapacity` at all. */
  unreported: number;
  /**
   * Read units by AWS's rule for reads ("Read consumption" in the DynamoDB Developer Guide): each
   * key of a GetItem or BatchGetItem is one read of its item rounded up to 4 KB, a key whose item
   * does not exist included; 1 unit strongly consistent, 0.5 eventually consistent; a
   * transactional read 2. DynamoDB Local's own `ConsumedCapacity` does not follow it (it reports
   * 0.5 for a strongly consistent BatchGetItem of three keys). Answers larger than 4 KB, and
   * Query, are counted `NaN` (their size would decide).
   */
  ruleUnits: number;
  reset(): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const proxy: RecordingProxy = {
    url: '',
    requests: new Map(),
    lastBody: new Map(),
    readUnits: 0,
    unreported: 0,
    ruleUnits: 0,
    reset() {
      proxy.requests.clear();
      proxy.readUnits = 0;
      proxy.unreported = 0;
      proxy.ruleUnits = 0;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const amzTarget = String(req.headers['x-amz-target'] ?? 'unknown');
    const operation = amzTarget.slice(amzTarget.indexOf('.') + 1);
    proxy.requests.set(operation, (proxy.requests.get(operation) ?? 0) + 1);
    proxy.lastBody.set(amzTarget, text);
    const body = JSON.stringify({ ...(JSON.parse(text || '{}') as object), ReturnConsumedCapacity: 'TOTAL' });
    const headers = { ...req.headers, 'content-length': String(Buffer.byteLength(body)) };
    delete headers['accept-encoding'];
    const forward = request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (c: Buffer) => parts.push(c));
      answer.on('end', () => {
        const out = Buffer.concat(parts);
        proxy.ruleUnits += out.length > 4096 ? Number.NaN : unitsByRule(operation, JSON.parse(text || '{}') as Record<string, unknown>);
        try {
          const parsed = JSON.parse(out.toString('utf8')) as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] };
          const consumed = parsed.ConsumedCapacity;
          if (consumed === undefined) proxy.unreported++;
          else for (const c of Array.isArray(consumed) ? consumed : [consumed]) proxy.readUnits += c.CapacityUnits ?? 0;
        } catch {
          proxy.unreported++;
        }
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': String(out.length) });
        res.end(out);
      });
    });
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    forward.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(proxy, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  return proxy;
}

export function unitsByRule(operation: string, body: Record<string, unknown>): number {
  const perKey = (consistent: unknown) => (consistent === true ? 1 : 0.5);
  if (operation === 'GetItem') return perKey(body.ConsistentRead);
  if (operation === 'TransactGetItems') return 2 * (Array.isArray(body.TransactItems) ? body.TransactItems.length : 0);
  if (operation === 'BatchGetItem') {
    return Object.values((body.RequestItems ?? {}) as Record<string, { Keys?: unknown[]; ConsistentRead?: unknown }>).reduce(
      (sum, table) => sum + (table.Keys?.length ?? 0) * perKey(table.ConsistentRead),
      0,
    );
  }
  return Number.NaN;
}
