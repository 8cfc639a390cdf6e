// The per-second chart of a run: delivered msg/s (left) and p99 (right) across warm-up (t < 0)
// and the measured window (t >= 0).
import type { ChartConfig } from './model.js';
import type { StoredResult } from './result.js';
import type { Timeline } from './timeline.js';

/** The run's per-second series: client-bench's own (exact p99) when it has one, else the
 *  orchestrator's /metrics scrape. */
export function runTimeline(r: StoredResult): Timeline | null {
  const own = r.timeline;
  if (own !== undefined && own.length > 0)
    return {
      columns: ['t', 'msgsPerSec', 'p99Us', 'serverSentPerSec', 'droppedPerSec'],
      source: 'client-bench timeline (per second, HDR p99)',
      points: own.map((s) => [s.t ?? 0, s.msgsPerSec ?? 0, s.p99Us ?? null, 0, 0]),
    };
  const scraped = r.serverTimeline;
  if (scraped?.points !== undefined && scraped.points.length > 0) return scraped as Timeline;
  return null;
}

export function timelineChart(t: Timeline): ChartConfig {
  return {
    type: 'line',
    data: {
      datasets: [
        {
          label: 'delivered msg/s',
          data: t.points.map((p) => ({ x: p[0], y: p[1] })),
          borderColor: '#4e79a7',
          backgroundColor: '#4e79a7',
          yAxisID: 'msgs',
        },
        {
          label: 'p99 (µs)',
          data: t.points.map((p) => ({ x: p[0], y: p[2] })),
          borderColor: '#e15759',
          backgroundColor: '#e15759',
          yAxisID: 'lat',
        },
      ],
    },
    options: {
      scales: {
        x: {
          type: 'linear',
          title: { display: true, text: 's from window start (negative: warm-up)' },
        },
        msgs: {
          type: 'linear',
          position: 'left',
          beginAtZero: true,
          title: { display: true, text: 'msg/s' },
        },
        lat: {
          type: 'logarithmic',
          position: 'right',
          title: { display: true, text: 'p99 µs' },
          grid: { drawOnChartArea: false },
        },
      },
    },
  };
}
