// Waiting that Ctrl-C can cut short: `sleep` resolves after ms (or 'ended' when `until` settles
// first) and rejects with Interrupted when the signal aborts.

/** The run was interrupted (Ctrl-C); whatever was measured is still written. */
export class Interrupted extends Error {
  override name = 'Interrupted';
}

export function sleep(
  ms: number,
  signal?: AbortSignal,
  until?: Promise<unknown>,
): Promise<'timeout' | 'ended'> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new Interrupted());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Interrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve('timeout');
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    void until?.then(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve('ended');
    });
  });
}

/** `promise`, or Interrupted when the signal aborts first. */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise;
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(new Interrupted());
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => {
    signal.removeEventListener('abort', onAbort);
  });
}

/** GET a JSON body (2 s timeout by default); throws on a non-2xx answer. */
export async function getJson(url: string, timeoutMs = 2000): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}
