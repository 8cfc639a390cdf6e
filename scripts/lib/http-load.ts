// HTTP latency under broadcast load: autocannon (programmatic API) against the server's
// /snapshot for part of the measured window.
import autocannon from 'autocannon';
import { errorText } from './format.js';

export interface HttpLoad {
  path: string;
  connections: number;
  durationSec: number;
  requests: number;
  reqPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/**
 * Runs autocannon for `seconds` against url. `signal` stops it early (the numbers so far are
 * kept). Resolves with the result block of result.json, or `{error}` when it could not run.
 */
export function runHttpLoad(opts: {
  url: string;
  seconds: number;
  connections: number;
  signal?: AbortSignal;
}): Promise<HttpLoad | { error: string }> {
  const { url, seconds, connections, signal } = opts;
  return new Promise((resolve) => {
    let instance: { stop(): void } | null = null;
    const stop = (): void => instance?.stop();
    try {
      instance = autocannon(
        { url, connections, duration: Math.max(1, Math.round(seconds)), pipelining: 1 },
        (err, r) => {
          signal?.removeEventListener('abort', stop);
          if (err !== null || r === undefined) {
            resolve({ error: err !== null ? err.message : 'no result' });
            return;
          }
          const durationSec = r.duration;
          const total = r.requests.total;
          resolve({
            path: new URL(url).pathname,
            connections,
            durationSec,
            requests: total,
            reqPerSec: durationSec > 0 ? Math.round((total / durationSec) * 10) / 10 : 0,
            latencyMs: {
              p50: r.latency.p50,
              p90: r.latency.p90,
              p99: r.latency.p99,
              max: r.latency.max,
            },
            errors: r.errors,
            timeouts: r.timeouts,
            non2xx: r.non2xx,
          });
        },
      );
    } catch (err) {
      resolve({ error: errorText(err) });
      return;
    }
    signal?.addEventListener('abort', stop, { once: true });
  });
}
