// What limited a run, named in every output: server CPU saturated, client saturated, the
// server's core taken by other processes, server backpressure drops, the pacer behind its
// schedule (ticks skipped), kernel/network (ticks late or lost while neither process is busy:
// system and softirq time from /proc), or nothing (every tick on time). The capacity search
// reads the same verdict to pass or fail a step.
import { fixed, si, us } from './format.js';
import type { MachineUsage } from './sampler.js';
import type { ServerWindow } from './timeline.js';

/** A process at or above this many cores (one event loop) is saturated. */
export const SATURATED_CORES = 0.9;
/** A core busier than this (all processes) leaves its process no room. */
export const CORE_FULL = 0.95;
/** Ticks short of the schedule over the window beyond this share: the pacer fell behind. */
export const SCHEDULE_TOLERANCE = 0.02;

export type Limit =
  | 'none'
  | 'aborted'
  | 'client'
  | 'server-cpu'
  | 'cpu-contention'
  | 'backpressure'
  | 'pacer'
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
}

function coreBusy(machine: MachineUsage | null | undefined, cores: string | null): number | null {
  if (cores === null || !/^\d+$/.test(cores)) return null;
  return machine?.coreBusy?.[cores] ?? null;
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
  const serverBusy = coreBusy(v.machine, v.serverCores);
  const clientBusy = coreBusy(v.machine, v.clientCores);
  const sc = v.serverCpuCores;
  const cc = v.clientCpuCores;

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
  if (serverBusy !== null && serverBusy >= CORE_FULL && (sc ?? 0) < SATURATED_CORES)
    reasons.push(
      `server's core ${v.serverCores ?? ''} ${Math.round(serverBusy * 100)}% busy, ${fixed(sc)} cores of it the server's: other processes compete`,
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
  } else if (troubled && serverBusy !== null && serverBusy >= CORE_FULL) {
    limit = 'cpu-contention';
    summary = `server's core ${Math.round(serverBusy * 100)}% busy but only ${fixed(sc)} cores the server's: other processes`;
  } else if (dropped > 0) {
    limit = 'backpressure';
    summary = `server backpressure drops (${si(dropped)})`;
  } else if (skipped > 0) {
    limit = 'pacer';
    summary = `pacer behind its schedule (${si(skipped)} ticks skipped)`;
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
    clientBound: v.clientBound,
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
