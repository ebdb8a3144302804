/**
 * Runs in a fresh `node` process: imports one authorizer bundle and answers one event, and
 * prints the wall time from just before the import to the first decision.
 * argv[2]: bundle URL; env EVENT: the event JSON.
 */
const bundle = process.argv[2] ?? '';
const event: unknown = JSON.parse(process.env.EVENT ?? '{}');
const start = performance.now();
const module = (await import(bundle)) as { handler: (event: unknown) => Promise<unknown> };
let outcome: string;
try {
  const result = await module.handler(event);
  outcome = JSON.stringify(result).includes('"isAuthorized":true') ? 'allow' : 'deny';
} catch (error) {
  outcome = `threw ${(error as Error).message}`;
}
const ms = performance.now() - start;
process.stdout.write(`${JSON.stringify({ ms, outcome })}\n`);
process.exit(0);
