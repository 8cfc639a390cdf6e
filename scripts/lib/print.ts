// The one summary printer of a run (native and Docker alike): what a person reads on stderr after
// make bench. The client-bench summary (client-bench/result.ts formatSummary) stays the client's;
// this one adds the server, placement and the verdict.
import { bytes, fixed, si, us } from './format.js';
import type { StoredResult } from './result.js';
import { cpuUsPerMsg } from './summary.js';

export function runSummary(r: StoredResult): string {
  const lines: string[] = [];
  if (r.aborted !== null && r.aborted !== undefined)
    lines.push(`  !!! ABORTED: ${r.aborted.reason ?? 'unknown'} — partial result`);
  if (r.client?.clientBound === true)
    lines.push('  !!! CLIENT-BOUND: the client was saturated; these numbers measure the client');
  const t = r.throughput;
  const runtime = r.bench?.runtime ?? 'native';
  lines.push(
    `  ${runtime === 'docker' ? 'runtime docker · ' : ''}${r.server?.mode ?? '?'}: ${si(t?.msgsPerSec)} msg/s delivered to ${r.config?.clients ?? '?'} client(s), ${fixed((t?.bytesPerSec ?? NaN) / 1e6)} MB/s`,
  );
  const d = r.delivery;
  if (d !== null && d !== undefined)
    lines.push(
      `  delivery ${d.received ?? 0}/${d.expected ?? 0} (gaps ${d.gaps ?? 0}, dup ${d.duplicates ?? 0}, reordered ${d.reordered ?? 0})`,
    );
  const l = r.latencyUs;
  if (l !== null && l !== undefined)
    lines.push(
      `  latency p50 ${us(l.p50)}  p99 ${us(l.p99)}  p99.9 ${us(l.p999)}  max ${us(l.max)}`,
    );
  const pl = r.placement;
  const where =
    pl?.pinned === true
      ? `server core ${pl.server?.cores ?? '–'}, client core ${pl.client?.cores ?? '–'}`
      : `not pinned (${pl?.reason ?? 'unknown'})`;
  const perMsg = cpuUsPerMsg(r.server?.cpuCores, t?.msgsPerSec);
  lines.push(
    `  server CPU ${fixed(r.server?.cpuCores)} cores (${fixed(perMsg, 3)} µs/msg), RSS max ${bytes(r.server?.rssMaxBytes)} · client CPU ${fixed(r.resources?.client?.cpuCores)} cores · placement ${where}`,
  );
  const loss = r.serverLoss;
  const restarts = r.bench?.docker?.server;
  if (loss !== null && loss !== undefined && (loss.closed ?? 0) > 0)
    lines.push(
      `  server lost: ${loss.closed ?? 0} connections closed by the server at ${fixed(loss.firstCloseSec)} s of the window; ` +
        (loss.outageSec !== null && loss.outageSec !== undefined
          ? `every one receiving again after ${fixed(loss.outageSec)} s (outage)`
          : `NOT recovered (${loss.receiving ?? 0} receiving again)`) +
        (restarts !== undefined
          ? `; server container restarted ${restarts.restarts ?? 0}x (policy ${restarts.restartPolicy ?? '?'})`
          : ''),
    );
  const h = r.http;
  if (h !== null && h !== undefined)
    lines.push(
      `  HTTP /snapshot under load: ${si(h.reqPerSec)} req/s, p50 ${fixed(h.latencyMs?.p50)} ms, p99 ${fixed(h.latencyMs?.p99)} ms`,
    );
  return lines.join('\n');
}
