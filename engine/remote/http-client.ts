/** How often and how long a request is retried: attempts in all, the first delay, doubled after each failure. */
export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialDelayMs: 500, maxDelayMs: 8000 };

/** A request that failed for good; `status` is null when no HTTP answer came (connection refused, timeout). */
export class RemoteRequestError extends Error {
  constructor(message: string, readonly status: number | null) {
    super(message);
    this.name = 'RemoteRequestError';
  }
}

/** Longest error body quoted in a message. */
const QUOTED_BODY = 300;

/**
 * POSTs JSON and returns the parsed JSON answer. Connection failures, timeouts, 408, 429 and 5xx are retried with
 * exponential backoff; other 4xx fail at once. Errors name the URL and the status and quote the server's message.
 */
export async function postJson(url: string, body: unknown, opts: { apiKey?: string; retry?: RetryPolicy; timeoutMs?: number; signal?: AbortSignal }): Promise<unknown> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  let delay = retry.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    let failure: RemoteRequestError;
    try {
      const signals = [AbortSignal.timeout(opts.timeoutMs ?? 600_000), ...(opts.signal ? [opts.signal] : [])];
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
      const text = await response.text();
      if (response.ok) {
        try {
          return JSON.parse(text);
        } catch {
          throw new RemoteRequestError(`${url}: the answer (HTTP ${response.status}) is not JSON: ${quote(text)}`, response.status);
        }
      }
      failure = new RemoteRequestError(`${url}: HTTP ${response.status}: ${serverMessage(text)}`, response.status);
      if (!retriableStatus(response.status)) throw failure;
    } catch (err) {
      if (err instanceof RemoteRequestError && !retriableStatus(err.status)) throw err;
      if (opts.signal?.aborted) throw err;
      failure = err instanceof RemoteRequestError ? err : new RemoteRequestError(`${url}: ${networkProblem(err)}`, null);
    }
    if (attempt >= retry.attempts) throw new RemoteRequestError(`${failure.message} (gave up after ${attempt} attempts)`, failure.status);
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, retry.maxDelayMs);
  }
}

/** Waits `ms`, or less when `signal` aborts (the caller's next fetch then fails with the abort). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

function retriableStatus(status: number | null): boolean {
  return status === null || status === 408 || status === 429 || status >= 500;
}

function networkProblem(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer before the timeout';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/** OpenAI-style servers answer errors with {"message"} or {"error": {"message"}}; SGLang and vLLM with {"message"}. */
function serverMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } | string; detail?: unknown };
    const message = parsed.message ?? (typeof parsed.error === 'object' ? parsed.error?.message : parsed.error) ?? parsed.detail;
    if (typeof message === 'string') return quote(message);
  } catch {
    // not JSON: quoted as it is
  }
  return quote(text);
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTED_BODY ? `${flat.slice(0, QUOTED_BODY)}…` : flat || '(empty body)';
}
