// The report of an ablation: ablation.json (the index ablation.ts writes) and every run's
// result.json → report.md and report.html (table, effects, interactions, waterfall chart).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModeName } from '../../protocol/modes.js';
import type { AblationConfig } from './ablation-plan.js';
import { ablationBlocks, runVerdict, type AblationRun } from './ablation-analysis.js';
import { table, text, warning, type ReportModel } from './model.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-md.js';
import type { StoredResult } from './result.js';
import { runFigures, type Figures } from './summary.js';
import type { CapacityResult } from './capacity.js';

/** ablation.json. */
export interface AblationIndex {
  kind: 'ablation';
  ablationId: string;
  startedAt: string;
  endedAt: string | null;
  command: string;
  mode: ModeName;
  scenario: string;
  repeats: number;
  /** where the configuration list came from */
  switches: { source: string; flag: string } | null;
  configs: AblationConfig[];
  machine: StoredResult['machine'];
  versions: Record<string, string | null>;
  settings: Record<string, unknown>;
  plannedRuns: number;
  runs: { config: string; repeat: number; dir: string; exitCode: number }[];
  aborted: { reason: string } | null;
}

export async function readAblationRuns(dir: string, index: AblationIndex): Promise<AblationRun[]> {
  const runs: AblationRun[] = [];
  for (const r of index.runs) {
    let result: StoredResult;
    try {
      result = JSON.parse(
        await readFile(path.join(dir, r.dir, 'result.json'), 'utf8'),
      ) as StoredResult;
    } catch {
      continue;
    }
    const cap = result as unknown as Partial<CapacityResult>;
    if (cap.kind === 'capacity') {
      runs.push({ config: r.config, repeat: r.repeat, dir: r.dir, ...capacityFigures(cap) });
      continue;
    }
    const v = runVerdict(result);
    runs.push({
      config: r.config,
      repeat: r.repeat,
      dir: r.dir,
      figures: runFigures(result),
      ...v,
    });
  }
  return runs;
}

/**
 * A capacity search as one ablation run: its highest passing rate in deliveries/s, with the
 * search's own verdict; a search whose client was the limit is a lower bound, not conclusive.
 */
function capacityFigures(
  c: Partial<CapacityResult>,
): Pick<AblationRun, 'figures' | 'verdict' | 'why'> {
  const b = c.best ?? null;
  const figures: Figures = {
    msgsPerSec: b?.deliveriesPerSec ?? null,
    latencyUs: { p50: b?.p50Us ?? null, p99: b?.p99Us ?? null },
    clientBound: c.lowerBound === true,
    serverCpuCores: b?.serverCpuCores ?? null,
    cpuUsPerMsg: b?.cpuUsPerMsg ?? null,
  };
  const why = c.verdict?.summary ?? '';
  if (c.stoppedBy === 'interrupted' || c.stoppedBy === 'error')
    return { figures, verdict: 'aborted', why };
  if (b === null) return { figures, verdict: 'no-data', why: why || 'no step passed' };
  if (c.lowerBound === true) return { figures, verdict: 'client-bound', why };
  return { figures, verdict: 'paced', why: `capacity at the SLO; ${why}` };
}

export function ablationModel(index: AblationIndex, runs: readonly AblationRun[]): ReportModel {
  const presetsOnly = index.switches === null;
  const warnings: string[] = [];
  if (index.aborted !== null) warnings.push(`Ablation stopped early: ${index.aborted.reason}.`);
  return {
    title: `wsbench ablation — ${index.mode}, ${index.scenario}`,
    subtitle: `${index.ablationId} · ${index.configs.length} configurations × ${index.repeats} repeats (alternating order) · ${index.startedAt}`,
    warnings,
    sections: [
      { title: 'Configurations', blocks: ablationBlocks(index.configs, runs, presetsOnly) },
      {
        title: 'Runs',
        blocks: [
          table(
            ['run', 'configuration', 'repeat', 'msg/s', 'server cores', 'verdict', 'why'],
            runs.map((r) => [
              r.dir,
              r.config,
              String(r.repeat + 1),
              r.figures.msgsPerSec !== null ? String(Math.round(r.figures.msgsPerSec)) : '–',
              r.figures.serverCpuCores !== null && r.figures.serverCpuCores !== undefined
                ? r.figures.serverCpuCores.toFixed(2)
                : '–',
              r.verdict,
              r.why,
            ]),
          ),
        ],
      },
      {
        title: 'How it was run',
        blocks: [
          text(`Command: ${index.command}`),
          text(
            `Configurations from: ${index.switches !== null ? `${index.switches.source} (${index.switches.flag})` : 'the mode presets (no switch table in the server yet)'}.`,
          ),
          table(
            ['configuration', 'kind', 'mode', 'server flags'],
            index.configs.map((c) => [c.name, c.kind, c.mode, c.serverArgs.join(' ') || '–']),
          ),
          ...(index.runs.length < index.plannedRuns
            ? [warning(`${index.runs.length} of ${index.plannedRuns} planned runs finished.`)]
            : []),
        ],
      },
    ],
  };
}

export async function writeAblationReports(dir: string): Promise<{ md: string; html: string }> {
  const index = JSON.parse(
    await readFile(path.join(dir, 'ablation.json'), 'utf8'),
  ) as AblationIndex;
  const runs = await readAblationRuns(dir, index);
  const model = ablationModel(index, runs);
  const md = path.join(dir, 'report.md');
  const html = path.join(dir, 'report.html');
  await writeFile(md, renderMarkdown(model));
  await writeFile(html, await renderHtml(model));
  return { md, html };
}
