// HTTP latency under broadcast load: autocannon (programmatic API) against the server's
// /snapshot for part of the measured window.
import autocannon from 'autocannon';

/**
 * Runs autocannon for `seconds` against url. `signal` stops it early (the numbers so far are
 * kept). Resolves with the result block of result.json, or null when it could not run.
 */
export function runHttpLoad({ url, seconds, connections, signal }) {
  return new Promise((resolve) => {
    let instance;
    try {
      instance = autocannon(
        { url, connections, duration: Math.max(1, Math.round(seconds)), pipelining: 1 },
        (err, r) => {
          signal?.removeEventListener('abort', stop);
          if (err || !r) return resolve({ error: String(err?.message ?? err ?? 'no result') });
          const durationSec = r.duration;
          const total = r.requests?.total ?? 0;
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
      return resolve({ error: String(err?.message ?? err) });
    }
    const stop = () => instance.stop();
    signal?.addEventListener('abort', stop, { once: true });
  });
}
