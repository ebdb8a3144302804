/**
 * A time budget for one outbound operation, retries included.
 *
 * Deliberately not `AbortController`/`AbortSignal`: the authorizer's only use is "give up on this
 * socket when the budget runs out", and the first use of the EventTarget machinery behind
 * AbortSignal costs about 2 ms of every cold start (measured: `new AbortController()` plus one
 * `addEventListener`, in a fresh process). This is the few lines that use needs.
 */
export class Deadline {
  private passed = false;
  private readonly listeners = new Set<() => void>();

  get expired(): boolean {
    return this.passed;
  }

  /** Calls `listener` once when the deadline passes; returns the function that unsubscribes it. */
  onExpire(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Marks the deadline as passed and tells every listener, once. */
  expire(): void {
    if (this.passed) return;
    this.passed = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}

/**
 * Runs `work` with a deadline that expires after `ms`; the timer is cleared as soon as `work`
 * settles, so a finished request leaves no timer behind.
 */
export async function withDeadline<T>(ms: number, work: (deadline: Deadline) => Promise<T>): Promise<T> {
  const deadline = new Deadline();
  const timer = setTimeout(() => deadline.expire(), ms);
  try {
    return await work(deadline);
  } finally {
    clearTimeout(timer);
  }
}
