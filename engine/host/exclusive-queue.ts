import { cancelled } from './host-error.ts';

/**
 * Runs tasks one at a time in arrival order: jobs that drive the model share one onnxruntime session and one
 * loaded model. A task whose signal aborts while it waits leaves the queue at once, rejecting with 'cancelled'.
 */
export class ExclusiveQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    const result = turn(previous, signal).then(task);
    // A task cancelled while queued still hands over only once its predecessor is done.
    void result.catch(() => undefined).then(() => previous).then(release);
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void> {
    return this.tail;
  }
}

function turn(previous: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise((resolve, reject) => {
    const abort = () => reject(cancelled());
    signal.addEventListener('abort', abort, { once: true });
    void previous.then(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    });
  });
}
