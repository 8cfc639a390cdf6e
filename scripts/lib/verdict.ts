// What limited a run, named in every output: server CPU saturated, client saturated, the
// server's core taken by other processes (or by the kernel's softirq work on it), server
// backpressure drops, the pacer behind its schedule (ticks skipped), one tick's fan-out burst
// taking longer than the SLO on the server or in one client worker, kernel/network (ticks late or
// lost while neither process is busy: system and softirq time from /proc), or nothing (every
// tick on time). The capacity search reads the same verdict to pass or fail a step.
import { fixed, si, us } from './format.js';
import type { MachineUsage } from './sampler.js';
import type { ServerWindow } from './timeline.js';

/** A process at or above this many cores (one event loop) is saturated. */
export const SATURATED_CORES = 0.9;
/** A core busier than this (all processes) leaves its process no room. */
export const CORE_FULL = 0.95;
/** Ticks short of the schedule over the window beyond this share: the pacer fell behind. */
export const SCHEDULE_TOLERANCE = 0.02;
/**
 * A core's irq + softirq share at or above this, with the rest of the core the server's, is the
 * kernel's network work (loopback: the receive path of what the server sends runs on its core).
 */
export const SOFTIRQ_SHARE = 0.1;
/**
 * One tick's burst (a process's busy time per tick: cores / ticks per second) at or above this
 * share of the measured p99 explains the p99: the last socket of each burst waits for the others.
 */
export const BURST_SHARE = 0.5;

export type Limit =
  | 'none'
  | 'aborted'
  | 'client'
  | 'server-cpu'
  | 'cpu-contention'
  | 'backpressure'
  | 'pacer'
  | 'server-fanout'
  | 'kernel-network';

export interface Verdict {
  limit: Limit;
  /** one line for tables and summaries */
  summary: string;
  /** every finding, for the report */
  reasons: string[];
  sloP99Ms: number;
  /** p99 (due → receive) above the SLO */
  late: boolean;
  /** ticks lost: gaps, not delivered, dropped by the server, skipped by the pacer */
  lost: { gaps: number; missing: number; dropped: number; skipped: number };
  clientBound: boolean;
  serverCpuCores: number | null;
  clientCpuCores: number | null;
  /** busy share of the server's / client's core, every process included (pinned native runs) */
  serverCoreBusy: number | null;
  clientCoreBusy: number | null;
}

export interface VerdictInput {
  sloP99Ms: number;
  rate: number;
  aborted: string | null;
  p99Us: number | null;
  delivery: { received: number; expected: number; gaps: number } | null;
  clientBound: boolean;
  clientWhy: string | null;
  serverCpuCores: number | null;
  clientCpuCores: number | null;
  machine: MachineUsage | null | undefined;
  serverCores: string | null;
  clientCores: string | null;
  serverWindow: ServerWindow | null;
  /** client-bench's workers (CPU in cores each), for the per-tick burst of one worker */
  clientWorkers?: readonly { cpuCores: number }[] | null;
}

function perCore(table: Record<string, number> | undefined, cores: string | null): number | null {
  if (cores === null || !/^\d+$/.test(cores)) return null;
  return table?.[cores] ?? null;
}

/** ms of one process's busy time per tick at `rate` ticks/s (null for max rate or no figure). */
function burstMs(cores: number | null | undefined, rate: number): number | null {
  return rate > 0 && cores !== null && cores !== undefined ? (cores / rate) * 1000 : null;
}

export function judge(v: VerdictInput): Verdict {
  const reasons: string[] = [];
  const d = v.delivery;
  const sw = v.serverWindow;
  const gaps = d?.gaps ?? 0;
  const missing = d !== null ? Math.max(0, d.expected - d.received) : 0;
  const dropped = sw?.droppedBackpressure ?? 0;
  const due = v.rate > 0 && sw !== null ? v.rate * sw.seconds : 0;
  const short = sw !== null ? due - sw.ticksGenerated : 0;
  const skipped =
    v.rate > 0 && short > Math.max(SCHEDULE_TOLERANCE * due, 2) ? Math.round(short) : 0;
  const late = v.p99Us !== null && v.p99Us > v.sloP99Ms * 1000;
  const lost = gaps + missing + dropped + skipped > 0;
  const serverBusy = perCore(v.machine?.coreBusy, v.serverCores);
  const clientBusy = perCore(v.machine?.coreBusy, v.clientCores);
  const serverSoftirq = perCore(v.machine?.coreSoftirq, v.serverCores);
  const sc = v.serverCpuCores;
  const cc = v.clientCpuCores;
  // The server's core full, the server below saturation: softirq (the kernel's network work,
  // charged to no process) or other processes took the rest.
  const coreFull = serverBusy !== null && serverBusy >= CORE_FULL && (sc ?? 0) < SATURATED_CORES;
  const others = coreFull ? serverBusy - (sc ?? 0) - (serverSoftirq ?? 0) : 0;
  const softirqFull =
    coreFull && serverSoftirq !== null && serverSoftirq >= SOFTIRQ_SHARE && others < serverSoftirq;
  // One tick's burst: the server writes every subscriber in turn, one client worker reads its
  // sockets in turn; the last of each waits for the rest.
  const p99Ms = v.p99Us !== null ? v.p99Us / 1000 : null;
  const serverBurst = burstMs(sc, v.rate);
  const busiest = (v.clientWorkers ?? []).reduce<number | null>(
    (m, w) => (m === null || w.cpuCores > m ? w.cpuCores : m),
    null,
  );
  const workerBurst = burstMs(busiest ?? cc, v.rate);
  const explains = (b: number | null): b is number =>
    late && b !== null && p99Ms !== null && b >= BURST_SHARE * p99Ms;

  if (late) reasons.push(`p99 ${us(v.p99Us)} > SLO ${v.sloP99Ms} ms`);
  if (gaps > 0) reasons.push(`${si(gaps)} seq gaps`);
  if (missing > 0) reasons.push(`${si(missing)} ticks not delivered`);
  if (dropped > 0) reasons.push(`server dropped ${si(dropped)} ticks (backpressure)`);
  if (skipped > 0)
    reasons.push(
      `pacer behind: ${si(skipped)} of ${si(due)} due ticks not generated (skipped backlog)`,
    );
  if (v.clientBound)
    reasons.push(`client saturated${v.clientWhy !== null ? ` (${v.clientWhy})` : ''}`);
  if (sc !== null && sc >= SATURATED_CORES)
    reasons.push(`server CPU saturated (${fixed(sc)} cores)`);
  if (coreFull)
    reasons.push(
      `server's core ${v.serverCores ?? ''} ${Math.round(serverBusy * 100)}% busy: server ${fixed(sc)} cores + irq/softirq ${fixed(serverSoftirq)}` +
        (softirqFull
          ? ' (the kernel network path on the server core)'
          : `, other processes ${fixed(others)}: they compete`),
    );

  const troubled = late || lost;
  const m = v.machine;
  const kernel = `machine system ${fixed(m?.systemCores)} + softirq ${fixed(m?.softirqCores)} cores`;
  let limit: Limit;
  let summary: string;
  if (v.aborted !== null) {
    limit = 'aborted';
    summary = `aborted: ${v.aborted}`;
  } else if (v.clientBound) {
    limit = 'client';
    summary = `client saturated${v.clientWhy !== null ? ` (${v.clientWhy})` : ''}: the numbers measure the client`;
  } else if (sc !== null && sc >= SATURATED_CORES) {
    limit = 'server-cpu';
    summary = `server CPU saturated (${fixed(sc)} cores)`;
  } else if (troubled && coreFull && softirqFull) {
    limit = 'kernel-network';
    summary = `kernel network path on the server's core: ${Math.round(serverBusy * 100)}% busy = server ${fixed(sc)} + irq/softirq ${fixed(serverSoftirq)} cores (on loopback the receive path of what the server sends runs on its core)`;
  } else if (troubled && coreFull) {
    limit = 'cpu-contention';
    summary = `server's core ${Math.round(serverBusy * 100)}% busy but only ${fixed(sc)} cores the server's: other processes`;
  } else if (dropped > 0) {
    limit = 'backpressure';
    summary = `server backpressure drops (${si(dropped)})`;
  } else if (skipped > 0) {
    limit = 'pacer';
    summary = `pacer behind its schedule (${si(skipped)} ticks skipped)`;
  } else if (!lost && explains(workerBurst) && workerBurst >= (serverBurst ?? 0)) {
    limit = 'client';
    const per = v.clientWorkers && v.clientWorkers.length > 1 ? 'one client worker' : 'the client';
    summary = `client fan-in burst: ${per} is busy ${workerBurst.toFixed(1)} ms per tick (${fixed(busiest ?? cc)} cores at ${si(v.rate)} ticks/s) reading its sockets in turn, p99 ${us(v.p99Us)}: the numbers measure the client (more client workers or cores)`;
    reasons.push(summary);
  } else if (!lost && explains(serverBurst)) {
    limit = 'server-fanout';
    summary = `server fan-out burst: the server is busy ${serverBurst.toFixed(1)} ms per tick (${fixed(sc)} cores at ${si(v.rate)} ticks/s) writing its subscribers in turn, p99 ${us(v.p99Us)} > ${v.sloP99Ms} ms`;
    reasons.push(summary);
  } else if (troubled) {
    limit = 'kernel-network';
    summary = `kernel/network: ${late ? `p99 ${us(v.p99Us)} over ${v.sloP99Ms} ms` : 'ticks lost'} while server ${fixed(sc)} and client ${fixed(cc)} cores (${kernel})`;
    reasons.push(`neither process busy: ${kernel}`);
  } else {
    limit = 'none';
    summary = `within SLO: every tick delivered, p99 ${us(v.p99Us)} ≤ ${v.sloP99Ms} ms`;
  }
  return {
    limit,
    summary,
    reasons,
    sloP99Ms: v.sloP99Ms,
    late,
    lost: { gaps, missing, dropped, skipped },
    clientBound: v.clientBound || limit === 'client',
    serverCpuCores: sc,
    clientCpuCores: cc,
    serverCoreBusy: serverBusy,
    clientCoreBusy: clientBusy,
  };
}

/** Why client-bench said it was client-bound (its busiest worker), or null. */
export function clientWhy(
  workers: readonly { cpuCores: number; eventLoopP99Ms: number }[] | undefined,
): string | null {
  if (workers === undefined) return null;
  for (const [i, w] of workers.entries()) {
    if (w.cpuCores >= SATURATED_CORES) return `worker ${i} busy ${fixed(w.cpuCores)}`;
    if (w.eventLoopP99Ms >= 100) return `worker ${i} event-loop delay p99 ${w.eventLoopP99Ms} ms`;
  }
  return null;
}
