/**
 * A time budget for one outbound operation, retries included: `work` gets a signal that aborts
 * after `ms`, and the timer is cleared as soon as `work` settles, so a finished request leaves
 * no timer behind. (`AbortSignal.timeout` would keep one alive per request until it fires, and
 * its first use costs about a millisecond at cold start.)
 */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
