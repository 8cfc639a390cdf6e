// The capacity search: open-loop runs at fixed rates (VARY=rate, at CLIENTS) or client counts
// (VARY=clients, at a fixed rate), ramped x2 until a step fails, then bisected between the last
// passing and the first failing step, within a time budget. Every step is a full run (its own
// server, connect, warm-up, window; lib/run.ts) judged by lib/verdict.ts: it passes when no tick
// is lost, p99 from due time is within the SLO and the client is not saturated. A search whose
// first failure is the client's is a lower bound and says so.
import { Writable } from 'node:stream';
import path from 'node:path';
import { machineInfo } from '../../client-bench/result.js';
import type { ModeName } from '../../protocol/modes.js';
import type { Runtime } from '../runtimes/runtime.js';
import { fixed, seconds, si, us } from './format.js';
import { Progress } from './progress.js';
import type { BenchResult, Placement, RunPlan } from './result.js';
import { makeUniqueDir } from './results.js';
import { runBench } from './run.js';
import { cpuUsPerMsg } from './summary.js';
import { runTimeline } from './report-timeline.js';
import type { Timeline } from './timeline.js';
import type { Limit } from './verdict.js';
import { versions, type Versions } from './versions.js';

export type Axis = 'rate' | 'clients';

export interface Step {
  n: number;
  rate: number;
  clients: number;
  pass: boolean;
  limit: Limit;
  summary: string;
  reasons: string[];
  /** deliveries per second expected at this step: rate × clients */
  expectedMsgsPerSec: number;
  msgsPerSec: number | null;
  deliveredRatio: number | null;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  serverCpuCores: number | null;
  clientCpuCores: number | null;
  cpuUsPerMsg: number | null;
  serverRssMaxBytes: number | null;
  dir: string;
  exitCode: number;
}

export interface CapacityResult {
  kind: 'capacity';
  capacityId: string;
  mode: ModeName;
  vary: Axis;
  /** the fixed axis: clients when VARY=rate, rate when VARY=clients */
  clients: number | null;
  rate: number | null;
  slo: { p99Ms: number; delivered: 'every expected tick' };
  budgetS: number;
  step: { durationS: number; warmupS: number };
  startedAt: string;
  endedAt: string;
  elapsedS: number;
  command: string | null;
  runtime: string;
  machine: ReturnType<typeof machineInfo>;
  versions: Versions;
  placement: Placement | null;
  /** the highest passing step, null when none passed */
  best:
    | (Pick<Step, 'rate' | 'clients' | 'p50Us' | 'p99Us' | 'serverCpuCores' | 'cpuUsPerMsg'> & {
        ticksPerSec: number;
        deliveriesPerSec: number;
        step: number;
      })
    | null;
  /** the lowest failing step and exactly why it failed, null when none failed */
  firstFail:
    (Pick<Step, 'rate' | 'clients' | 'limit' | 'summary' | 'reasons'> & { step: number }) | null;
  /** the client was the limit: the capacity is at least `best`, not exactly */
  lowerBound: boolean;
  stoppedBy: 'bisected' | 'budget' | 'max' | 'min' | 'interrupted' | 'error';
  /** one line: what the search found and what limited it */
  verdict: { limit: Limit | 'none'; summary: string };
  steps: Step[];
  /** per second across warm-up and window of the best step (or the last one) */
  timeline: Timeline | null;
}

export interface CapacityOptions {
  mode: ModeName;
  vary: Axis;
  /** VARY=rate: the clients; VARY=clients: the first client count */
  clients: number;
  /** VARY=rate: the first rate; VARY=clients: the fixed rate */
  rate: number;
  base: Omit<RunPlan, 'mode' | 'rate' | 'clients'>;
  sloP99Ms: number;
  budgetS: number;
  precision: number;
  dir: string;
  capacityId: string;
  runtime: () => Runtime;
  signal?: AbortSignal;
  command?: string | null;
  /** more client-bench flags for every step (e.g. --burn-ns in a test) */
  clientArgs?: readonly string[];
  /** progress lines (stderr) */
  note: (line: string) => void;
}

const MAX = { rate: 50_000_000, clients: 50_000 } as const;
/** server start, connect, result, stop: a little under this per step */
const STEP_OVERHEAD_S = 3;

const silent = new Writable({
  write(_chunk, _enc, cb) {
    cb();
  },
});

/**
 * The pass rule of the capacity definition: nothing lost, p99 within the SLO, the client not
 * saturated. A server at 100 % CPU that still meets all three passes: that is its capacity (the
 * verdict's limit still names server-cpu, so the table says what the edge is).
 */
export function stepPasses(v: BenchResult['verdict'], exitCode: number): boolean {
  const lost = v.lost.gaps + v.lost.missing + v.lost.dropped + v.lost.skipped > 0;
  return exitCode === 0 && v.limit !== 'aborted' && !v.late && !lost && !v.clientBound;
}

function stepOf(n: number, r: BenchResult, dir: string, exitCode: number, plan: RunPlan): Step {
  const v = r.verdict;
  const d = r.delivery;
  const msgs = r.throughput?.msgsPerSec ?? null;
  const pass = stepPasses(v, exitCode);
  return {
    n,
    rate: plan.rate,
    clients: plan.clients,
    pass,
    limit: v.limit,
    summary: v.summary,
    reasons: v.reasons,
    expectedMsgsPerSec: plan.rate * plan.clients,
    msgsPerSec: msgs,
    deliveredRatio: d !== null && d.expected > 0 ? d.received / d.expected : null,
    p50Us: r.latencyUs?.p50 ?? null,
    p99Us: r.latencyUs?.p99 ?? null,
    p999Us: r.latencyUs?.p999 ?? null,
    serverCpuCores: r.server.cpuCores,
    clientCpuCores: r.resources.client.cpuCores,
    cpuUsPerMsg: cpuUsPerMsg(r.server.cpuCores, msgs),
    serverRssMaxBytes: r.server.rssMaxBytes,
    dir,
    exitCode,
  };
}

/**
 * A step the client fails (client saturated) is no evidence about the server: the search probes
 * this many doublings above it before it bisects below it.
 */
export const CLIENT_PROBES = 2;

export async function runCapacity(o: CapacityOptions): Promise<CapacityResult> {
  const started = Date.now();
  const steps: Step[] = [];
  const timelines = new Map<number, Timeline | null>();
  let placement: Placement | null = null;
  let lo: number | null = null; // highest passing x
  let hi: number | null = null; // lowest failing x
  let x = o.vary === 'rate' ? o.rate : o.clients;
  let stoppedBy: CapacityResult['stoppedBy'] = 'bisected';
  let lastStepS = o.base.warmup + o.base.duration + STEP_OVERHEAD_S;
  const max = MAX[o.vary];
  const unit = o.vary === 'rate' ? 'ticks/s' : 'clients';
  let probing: number | null = null; // the first client-failed step being probed past
  let probes = 0;

  for (;;) {
    if (o.signal?.aborted === true) {
      stoppedBy = 'interrupted';
      break;
    }
    const elapsed = (Date.now() - started) / 1000;
    if (elapsed + lastStepS > o.budgetS) {
      stoppedBy = 'budget';
      break;
    }
    const plan: RunPlan = {
      ...o.base,
      mode: o.mode,
      rate: o.vary === 'rate' ? x : o.rate,
      clients: o.vary === 'clients' ? x : o.clients,
    };
    const n = steps.length + 1;
    const name = `${String(n).padStart(2, '0')}-${o.vary === 'rate' ? `r${plan.rate}` : `c${plan.clients}`}`;
    const { id, dir } = await makeUniqueDir(path.join(o.dir, 'steps'), name);
    const t0 = Date.now();
    let step: Step;
    try {
      const out = await runBench(o.runtime(), plan, {
        runDir: dir,
        runId: `${o.capacityId}-${id}`,
        progress: new Progress(`capacity ${name}`, null, silent),
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
        sloP99Ms: o.sloP99Ms,
        prometheus: false,
        command: o.command ?? null,
        ...(o.clientArgs !== undefined ? { clientArgs: o.clientArgs } : {}),
      });
      placement ??= out.result.placement;
      step = stepOf(n, out.result, path.relative(o.dir, dir), out.exitCode, plan);
      timelines.set(n, runTimeline(out.result));
      if (out.interrupted) {
        steps.push(step);
        stoppedBy = 'interrupted';
        break;
      }
    } catch (err) {
      o.note(`step ${n} failed: ${err instanceof Error ? err.message : String(err)}`);
      stoppedBy = 'error';
      break;
    }
    lastStepS = (Date.now() - t0) / 1000;
    steps.push(step);
    const left = Math.max(0, o.budgetS - (Date.now() - started) / 1000);
    o.note(
      `step ${n}: ${si(plan.rate)} ticks/s × ${plan.clients} clients = ${si(step.expectedMsgsPerSec)} msg/s → ` +
        `${step.pass ? 'pass' : `FAIL (${step.summary})`}; p99 ${us(step.p99Us)}, server ${fixed(step.serverCpuCores)} / client ${fixed(step.clientCpuCores)} cores · ${seconds(left)} of budget left`,
    );

    if (step.pass) {
      lo = Math.max(lo ?? 0, x);
      probing = null;
      probes = 0;
    } else if (
      step.limit === 'client' &&
      lo !== null &&
      hi === null &&
      probes < CLIENT_PROBES &&
      x < max
    ) {
      // The client failed this step, not the server: no evidence about the server's edge. A
      // server that only just keeps up writes every tick alone (one read per frame for the
      // client); a busier one coalesces and relieves the client, so look above before bisecting.
      probing ??= x;
      probes++;
      x = Math.min(max, x * 2);
      o.note(`step ${n} failed on the client: probing ${si(x)} ${unit} before bisecting below it`);
      continue;
    } else {
      hi = Math.min(hi ?? Infinity, probing ?? x);
      probing = null;
      probes = 0;
    }
    if (lo !== null && hi !== null && (hi - lo) / lo <= o.precision) break;
    if (hi === null) {
      if (x >= max) {
        stoppedBy = 'max';
        break;
      }
      x = Math.min(max, x * 2);
    } else if (lo === null) {
      if (x <= 1) {
        stoppedBy = 'min';
        break;
      }
      x = Math.max(1, Math.floor(x / 2));
    } else {
      const mid = Math.round((lo + hi) / 2);
      if (mid === lo || mid === hi) break;
      x = mid;
    }
  }

  const passing = steps.filter((s) => s.pass);
  const bestStep = passing.reduce<Step | null>(
    (b, s) => (b === null || s.expectedMsgsPerSec > b.expectedMsgsPerSec ? s : b),
    null,
  );
  const axisOf = (s: Step): number => (o.vary === 'rate' ? s.rate : s.clients);
  const allFailing = steps.filter((s) => !s.pass && s.limit !== 'aborted');
  // Steps below the best that failed on the client (probed past) are not the server's edge.
  const failing = allFailing.filter((s) => bestStep === null || axisOf(s) > axisOf(bestStep));
  const below = allFailing.filter((s) => !failing.includes(s));
  const failStep = failing.reduce<Step | null>(
    (b, s) => (b === null || s.expectedMsgsPerSec < b.expectedMsgsPerSec ? s : b),
    null,
  );
  const lowerBound = failStep?.limit === 'client';
  const best =
    bestStep === null
      ? null
      : {
          rate: bestStep.rate,
          clients: bestStep.clients,
          ticksPerSec: bestStep.rate,
          deliveriesPerSec: bestStep.expectedMsgsPerSec,
          p50Us: bestStep.p50Us,
          p99Us: bestStep.p99Us,
          serverCpuCores: bestStep.serverCpuCores,
          cpuUsPerMsg: bestStep.cpuUsPerMsg,
          step: bestStep.n,
        };
  const axisValue = (s: Step): number => (o.vary === 'rate' ? s.rate : s.clients);
  const verdictSummary =
    bestStep === null
      ? `no step passed${failStep !== null ? `: at ${si(axisValue(failStep))} ${unit} ${failStep.summary}` : ''}`
      : `${lowerBound ? 'at least ' : ''}${si(axisValue(bestStep))} ${unit} (${si(bestStep.expectedMsgsPerSec)} deliveries/s) within p99 ${o.sloP99Ms} ms` +
        (failStep !== null
          ? `; limit at ${si(axisValue(failStep))} ${unit}: ${failStep.summary}`
          : `; no step above it failed (stopped: ${stoppedBy})`) +
        (below.length > 0
          ? `; lower step(s) failed too, probed past: ${below.map((s) => `${si(axisValue(s))} (${s.limit})`).join(', ')}`
          : '');
  return {
    kind: 'capacity',
    capacityId: o.capacityId,
    mode: o.mode,
    vary: o.vary,
    clients: o.vary === 'rate' ? o.clients : null,
    rate: o.vary === 'clients' ? o.rate : null,
    slo: { p99Ms: o.sloP99Ms, delivered: 'every expected tick' },
    budgetS: o.budgetS,
    step: { durationS: o.base.duration, warmupS: o.base.warmup },
    startedAt: new Date(started).toISOString(),
    endedAt: new Date().toISOString(),
    elapsedS: Math.round((Date.now() - started) / 100) / 10,
    command: o.command ?? null,
    runtime: 'native',
    machine: machineInfo(),
    versions: versions(),
    placement,
    best,
    firstFail:
      failStep === null
        ? null
        : {
            rate: failStep.rate,
            clients: failStep.clients,
            limit: failStep.limit,
            summary: failStep.summary,
            reasons: failStep.reasons,
            step: failStep.n,
          },
    lowerBound,
    stoppedBy,
    verdict: { limit: failStep?.limit ?? 'none', summary: verdictSummary },
    steps,
    timeline: timelines.get(bestStep?.n ?? steps.length) ?? null,
  };
}
