/**
 * Admission for the endpoint's requests. They run one at a time on the engine (its exclusive queue, shared with the
 * app's own jobs); this bounds how many may wait behind the running one, so a flood of requests is refused at once
 * with a 429 instead of piling up unbounded work and memory.
 */
export class RequestQueue {
  private admitted = 0;

  /** @param maxWaiting requests that may wait while one runs (0: only one request at a time). */
  constructor(readonly maxWaiting: number) {
    if (!Number.isInteger(maxWaiting) || maxWaiting < 0) throw new Error(`the queue bound must be a non-negative integer, got ${maxWaiting}`);
  }

  /** A release function for an admitted request (call it once the request is done), or null when the queue is full. */
  admit(): (() => void) | null {
    if (this.admitted > this.maxWaiting) return null;
    this.admitted++;
    let released = false;
    return () => {
      if (!released) this.admitted--;
      released = true;
    };
  }

  /** Requests admitted and not yet released: running and waiting. */
  get size(): number {
    return this.admitted;
  }
}
