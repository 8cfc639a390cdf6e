// The report of a capacity search (result.json with kind "capacity"): the answer, the first
// failure and why, the whole curve (rate → delivered %, p50/p99/p99.9, server and client CPU)
// as a table and as charts, and the per-second timeline of the best step.
import type { CapacityResult } from './capacity.js';
import { bytes, fixed, percent, si, us } from './format.js';
import { chart, table, text, type ChartConfig, type ReportModel, type Section } from './model.js';
import { timelineChart } from './report-timeline.js';

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];

export function capacityModel(c: CapacityResult): ReportModel {
  const unit = c.vary === 'rate' ? 'ticks/s' : 'clients';
  const x = (s: CapacityResult['steps'][number]): number =>
    c.vary === 'rate' ? s.rate : s.clients;
  const warnings: string[] = [];
  if (c.lowerBound)
    warnings.push(
      'lower bound: the client was the limit of the first failing step, so the server may sustain more than the capacity quoted.',
    );
  if (c.stoppedBy === 'budget')
    warnings.push(`the search stopped at its time budget (${c.budgetS} s) before it had bisected.`);
  if (c.stoppedBy === 'interrupted') warnings.push('the search was interrupted (SIGINT).');
  const sections: Section[] = [];
  sections.push({
    title: 'Capacity',
    blocks: [
      text(c.verdict.summary),
      table(
        ['', 'value'],
        [
          ['mode', c.mode],
          [
            'axis',
            c.vary === 'rate'
              ? `tick rate at ${c.clients ?? '?'} clients`
              : `clients at ${si(c.rate)} ticks/s`,
          ],
          [
            'objective',
            `every expected tick delivered (no gaps, drops, skipped backlog), p99 due → receive ≤ ${c.slo.p99Ms} ms, client not saturated`,
          ],
          [
            'highest passing',
            c.best === null
              ? 'none'
              : `${si(c.vary === 'rate' ? c.best.ticksPerSec : c.best.clients)} ${unit} = ${si(c.best.ticksPerSec)} ticks/s, ${si(c.best.deliveriesPerSec)} deliveries/s${c.lowerBound ? ' (lower bound)' : ''}`,
          ],
          [
            'at that step',
            c.best === null
              ? '–'
              : `p50 ${us(c.best.p50Us)}, p99 ${us(c.best.p99Us)}, server CPU ${fixed(c.best.serverCpuCores)} cores (${fixed(c.best.cpuUsPerMsg, 3)} µs/msg)`,
          ],
          [
            'first failing',
            c.firstFail === null
              ? 'none'
              : `${si(c.vary === 'rate' ? c.firstFail.rate : c.firstFail.clients)} ${unit}: ${c.firstFail.summary}`,
          ],
          ['why it failed', c.firstFail === null ? '–' : c.firstFail.reasons.join('; ')],
          [
            'search',
            `${c.steps.length} steps, stopped: ${c.stoppedBy}, ${c.elapsedS} s of ${c.budgetS} s; each step ${c.step.warmupS} s warm-up + ${c.step.durationS} s window, fresh server`,
          ],
        ],
      ),
    ],
  });
  sections.push({
    title: 'Charts',
    blocks: [
      chart('chart-capacity-latency', `Latency per step (µs) vs ${unit}`, curveLatency(c, x)),
      chart(
        'chart-capacity-delivery',
        `Delivered % and CPU (cores) vs ${unit}`,
        curveDelivery(c, x),
      ),
      ...(c.timeline !== null && c.timeline.points.length > 0
        ? [
            chart(
              'chart-timeline',
              'Best step per second: delivered msg/s and p99',
              timelineChart(c.timeline),
            ),
          ]
        : []),
    ],
  });
  sections.push({
    title: 'Steps (in the order they ran)',
    blocks: [
      table(
        [
          '#',
          unit,
          'clients',
          'expected msg/s',
          'delivered msg/s',
          'delivered',
          'p50',
          'p99',
          'p99.9',
          'server CPU',
          'client CPU',
          'CPU µs/msg',
          'server RSS',
          'result',
        ],
        c.steps.map((s) => [
          String(s.n),
          si(x(s)),
          String(s.clients),
          si(s.expectedMsgsPerSec),
          si(s.msgsPerSec),
          percent(s.deliveredRatio),
          us(s.p50Us),
          us(s.p99Us),
          us(s.p999Us),
          fixed(s.serverCpuCores),
          fixed(s.clientCpuCores),
          fixed(s.cpuUsPerMsg, 3),
          bytes(s.serverRssMaxBytes),
          s.pass ? 'pass' : `FAIL: ${s.summary}`,
        ]),
      ),
    ],
  });
  sections.push({
    title: 'Configuration',
    blocks: [
      table(
        ['setting', 'value'],
        [
          ['capacity id', c.capacityId],
          ['runtime', c.runtime],
          [
            'placement',
            c.placement === null
              ? '–'
              : c.placement.pinned
                ? `server core ${c.placement.server.cores ?? '–'}, client core ${c.placement.client.cores ?? '–'}`
                : `not pinned (${c.placement.reason})`,
          ],
          ['machine', `${c.machine.cpus} × ${c.machine.model}, ${c.machine.os}`],
          ['Node', c.machine.node],
          ...Object.entries(c.versions)
            .filter(([k]) => k !== 'node')
            .map(([k, v]) => [k, v ?? '–']),
          ['started', c.startedAt],
          ['command', c.command ?? '–'],
        ],
      ),
    ],
  });
  return {
    title: `wsbench capacity ${c.capacityId}`,
    subtitle: `${c.mode} · VARY=${c.vary} · SLO p99 ≤ ${c.slo.p99Ms} ms${c.lowerBound ? ' · ⚠ lower bound (client-limited)' : ''}`,
    warnings,
    sections,
  };
}

function sorted(
  c: CapacityResult,
  x: (s: CapacityResult['steps'][number]) => number,
): CapacityResult['steps'] {
  return [...c.steps].sort((a, b) => x(a) - x(b));
}

function curveLatency(
  c: CapacityResult,
  x: (s: CapacityResult['steps'][number]) => number,
): ChartConfig {
  const steps = sorted(c, x);
  const line = (
    label: string,
    k: 'p50Us' | 'p99Us' | 'p999Us',
    color: string | undefined,
  ): Record<string, unknown> => ({
    label,
    data: steps.map((s) => ({ x: x(s), y: s[k] })),
    borderColor: color,
    backgroundColor: color,
  });
  return {
    type: 'line',
    data: {
      datasets: [
        line('p50', 'p50Us', COLORS[0]),
        line('p99', 'p99Us', COLORS[1]),
        line('p99.9', 'p999Us', COLORS[2]),
        {
          label: `SLO p99 ${c.slo.p99Ms} ms`,
          data: steps.map((s) => ({ x: x(s), y: c.slo.p99Ms * 1000 })),
          borderColor: COLORS[3],
          borderDash: [6, 4],
          pointRadius: 0,
        },
      ],
    },
    options: {
      scales: {
        x: {
          type: 'logarithmic',
          title: { display: true, text: c.vary === 'rate' ? 'ticks/s' : 'clients' },
        },
        y: { type: 'logarithmic', title: { display: true, text: 'µs' } },
      },
    },
  };
}

function curveDelivery(
  c: CapacityResult,
  x: (s: CapacityResult['steps'][number]) => number,
): ChartConfig {
  const steps = sorted(c, x);
  return {
    type: 'line',
    data: {
      datasets: [
        {
          label: 'delivered %',
          data: steps.map((s) => ({
            x: x(s),
            y: s.deliveredRatio === null ? null : s.deliveredRatio * 100,
          })),
          borderColor: COLORS[0],
          backgroundColor: COLORS[0],
          yAxisID: 'pct',
        },
        {
          label: 'server CPU (cores)',
          data: steps.map((s) => ({ x: x(s), y: s.serverCpuCores })),
          borderColor: COLORS[1],
          backgroundColor: COLORS[1],
          yAxisID: 'cpu',
        },
        {
          label: 'client CPU (cores)',
          data: steps.map((s) => ({ x: x(s), y: s.clientCpuCores })),
          borderColor: COLORS[2],
          backgroundColor: COLORS[2],
          yAxisID: 'cpu',
        },
      ],
    },
    options: {
      scales: {
        x: {
          type: 'logarithmic',
          title: { display: true, text: c.vary === 'rate' ? 'ticks/s' : 'clients' },
        },
        pct: {
          type: 'linear',
          position: 'left',
          min: 0,
          max: 100,
          title: { display: true, text: 'delivered %' },
        },
        cpu: {
          type: 'linear',
          position: 'right',
          beginAtZero: true,
          title: { display: true, text: 'cores' },
          grid: { drawOnChartArea: false },
        },
      },
    },
  };
}
