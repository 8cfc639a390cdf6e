// make soak [SOAK_MINUTES=30] [MODE=uws] [SOAK_RATE=200] [CLIENTS=100]: one long run at a steady
// rate within capacity. Every SOAK_SAMPLE_SEC the server's /metrics (RSS, heap, event-loop lag,
// sent/dropped) and client-bench's /metrics (received, gaps, latency buckets) are sampled; after
// the run: the RSS and heap slope (least squares, MB/h), gaps, p99 stability and a verdict, in
// soak.json, report.md and report.html (chart over time) beside the run's result.json.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineFlags, parse, runMain, type Values } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { MODE_NAMES, type ModeName } from '../protocol/modes.js';
import { planOf, QUIET_RUN_FLAGS, readConfig, RUN_FLAGS } from './lib/config.js';
import { fixed } from './lib/format.js';
import type { ReportModel } from './lib/model.js';
import { Progress } from './lib/progress.js';
import { renderHtml } from './lib/render-html.js';
import { renderMarkdown } from './lib/render-md.js';
import { runModel } from './lib/report.js';
import type { StoredResult } from './lib/result.js';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.js';
import { runBench } from './lib/run.js';
import { abortOnSignals } from './lib/signals.js';
import {
  classifyStalls,
  soakBlocks,
  summariseSoak,
  type SoakLimits,
  type Stall,
} from './lib/soak-analysis.js';
import { SoakRuntime } from './lib/soak-runtime.js';
import { unbuiltExit, NativeRuntime } from './runtimes/native.js';

const NAME = 'wsbench-soak';

export const SOAK_FLAGS = defineFlags({
  mode: {
    long: 'mode',
    short: 'm',
    env: ['MODE'],
    arg: 'MODE',
    help: 'server mode',
    default: 'uws',
    parse: parse.oneOf(MODE_NAMES),
  },
  minutes: {
    long: 'minutes',
    env: ['SOAK_MINUTES'],
    arg: 'MIN',
    help: 'length of the measured window in minutes',
    default: 30,
    parse: parse.number(0.1, 24 * 60),
  },
  rate: {
    long: 'rate',
    short: 'r',
    env: ['SOAK_RATE'],
    arg: 'N',
    help: 'ticks/s over all symbols (steady, within capacity)',
    default: 200,
    parse: parse.int(1, 100_000_000),
  },
  sampleSec: {
    long: 'sample-sec',
    env: ['SOAK_SAMPLE_SEC'],
    arg: 'S',
    help: 'seconds between samples of /metrics',
    default: 5,
    parse: parse.number(0.5, 600),
  },
  maxSlope: {
    long: 'max-slope',
    env: ['SOAK_MAX_SLOPE'],
    arg: 'MB/H',
    help: 'server RSS slope (least squares) beyond ± this fails the soak',
    default: 20,
    parse: parse.number(0, 100_000),
  },
  maxLiveSlope: {
    long: 'max-live-slope',
    env: ['SOAK_MAX_LIVE_SLOPE'],
    arg: 'MB/H',
    help: 'live heap (old generation after each major GC) slope above this fails the soak',
    default: 5,
    parse: parse.number(0, 100_000),
  },
  sloP99Ms: {
    long: 'slo-p99-ms',
    env: ['SLO_P99_MS'],
    arg: 'MS',
    help: 'p99 at the end of the soak must be within this (0 = no SLO)',
    default: 0,
    parse: parse.number(0, 600_000),
  },
  ...QUIET_RUN_FLAGS,
  duration: { ...RUN_FLAGS.duration, parse: parse.number(1, 24 * 3600) },
});

type SoakSettings = Values<typeof SOAK_FLAGS>;

const HELP = {
  usage: 'make soak [SOAK_MINUTES=30] [VAR=value ...]  |  node dist/scripts/soak.js [options]',
  about: [
    'A long run at a steady rate: server RSS, heap and event-loop lag over time, the slope in MB/h,',
    'gaps and p99 stability, with a verdict. docs/scenarios.md "Soak".',
  ],
};

export interface SoakFile {
  kind: 'soak';
  command: string;
  mode: ModeName;
  rate: number;
  clients: number;
  minutes: number;
  intervalMs: number;
  limits: SoakLimits;
  summary: ReturnType<typeof summariseSoak>;
  /** intervals in which the clients received nothing, classified network or server */
  stalls: Stall[];
  samples: import('./lib/soak-sampler.js').SoakSample[];
}

async function main(): Promise<number> {
  const cfg: SoakSettings | null = readConfig(NAME, SOAK_FLAGS, HELP);
  if (cfg === null) return EXIT.ok;
  const unbuilt = unbuiltExit(NAME);
  if (unbuilt !== null) return unbuilt;
  const duration = Math.round(cfg.minutes * 60);
  const root = resultsDir();
  const { id: runId, dir: runDir } = await makeUniqueDir(root, stampId(`soak-${cfg.mode}`));
  const progress = new Progress(`soak ${cfg.mode}`, cfg.warmup + duration + 3);
  const controller = abortOnSignals((sig) => {
    progress.note(`${sig}: stopping, keeping what was sampled…`);
  });
  const command =
    `MODE=${cfg.mode} SOAK_MINUTES=${cfg.minutes} SOAK_RATE=${cfg.rate} CLIENTS=${cfg.clients} ` +
    `SOAK_SAMPLE_SEC=${cfg.sampleSec} node dist/scripts/soak.js`;
  progress.note(
    `soak ${runId}: ${cfg.clients} client(s) at ${cfg.rate} ticks/s for ${duration}s (samples every ${cfg.sampleSec}s) → ${displayPath(runDir)}`,
  );
  const runtime = new SoakRuntime(new NativeRuntime(cfg, controller.signal), cfg.sampleSec * 1000);
  const outcome = await runBench(runtime, planOf({ ...cfg, rate: cfg.rate, duration }), {
    runDir,
    runId,
    progress,
    signal: controller.signal,
    scenario: 'soak',
    command,
    prometheus: cfg.prometheus,
  });
  const result = outcome.result;
  const from = Date.parse(result.window?.startedAt ?? '');
  const samples = runtime.samples.filter((s) => !Number.isFinite(from) || s.at >= from);
  const limits: SoakLimits = {
    maxSlopeMbPerHour: cfg.maxSlope,
    maxLiveSlopeMbPerHour: cfg.maxLiveSlope,
    maxP99Growth: 2,
    sloP99Ms: cfg.sloP99Ms > 0 ? cfg.sloP99Ms : null,
    minLeakSeconds: 300,
  };
  const summary = summariseSoak(samples, limits);
  const stalls = classifyStalls(samples);
  for (const st of stalls)
    summary.reasons.push(`${st.kind} stall ${st.from}–${st.to} s: ${st.why}`);
  if (stalls.length > 0 && summary.verdict === 'stable') summary.verdict = 'unstable';
  if (duration < 300)
    summary.reasons.push(
      'shorter than 5 min: the slope extrapolates a short window (indicative only)',
    );
  const soak: SoakFile = {
    kind: 'soak',
    command,
    mode: cfg.mode,
    rate: cfg.rate,
    clients: cfg.clients,
    minutes: cfg.minutes,
    intervalMs: cfg.sampleSec * 1000,
    limits,
    summary,
    stalls,
    samples: runtime.samples,
  };
  await writeFile(path.join(runDir, 'soak.json'), JSON.stringify(soak, null, 2) + '\n');
  const reports = await writeSoakReports(runDir);
  await pointLink(root, 'latest-soak', runDir);
  progress.endLine();
  const s = summary;
  console.error(
    `  soak ${cfg.mode}: ${s.verdict}${s.reasons.length > 0 ? ` (${s.reasons.join('; ')})` : ''}\n` +
      `  RSS slope ${fixed(s.rss.mbPerHour)} MB/h (r² ${s.rss.r2 ?? '–'}), ` +
      `over the last third ${fixed(s.rss.lastThird.mbPerHour)} MB/h, ` +
      `live heap ${fixed(s.heapLive.firstMb, 1)} → ${fixed(s.heapLive.lastMb, 1)} MB (${fixed(s.heapLive.mbPerHour)} MB/h, ${s.heapLive.n} major GCs), gaps ${s.gaps}, ` +
      `p99 ${s.p99Ms.first ?? '–'} → ${s.p99Ms.last ?? '–'} ms, loop lag p99 max ${fixed(s.loopLagP99Ms.max)} ms\n` +
      s.notes.map((n) => `  note: ${n}\n`).join('') +
      `  soak    ${path.join(runDir, 'soak.json')}\n  report  ${reports.md}\n          ${reports.html}`,
  );
  console.log(
    JSON.stringify({
      event: 'soak',
      runId,
      runDir,
      result: outcome.resultFile,
      soak: path.join(runDir, 'soak.json'),
      verdict: summary.verdict,
      reportMd: reports.md,
      reportHtml: reports.html,
      exitCode: outcome.exitCode,
    }),
  );
  return outcome.exitCode;
}

/** report.md/report.html of a soak: the soak section first, then the run's own report. */
export async function writeSoakReports(runDir: string): Promise<{ md: string; html: string }> {
  const result = JSON.parse(
    await readFile(path.join(runDir, 'result.json'), 'utf8'),
  ) as StoredResult;
  const soak = JSON.parse(await readFile(path.join(runDir, 'soak.json'), 'utf8')) as SoakFile;
  const base = runModel(result);
  const from = Date.parse(result.window?.startedAt ?? '');
  const after = soak.samples.filter((x) => !Number.isFinite(from) || x.at >= from);
  const model: ReportModel = {
    ...base,
    title: `wsbench soak — ${soak.mode}, ${soak.minutes} min at ${soak.rate} ticks/s`,
    sections: [
      { title: 'Soak', blocks: soakBlocks(soak.summary, after, soak.limits) },
      ...base.sections,
    ],
  };
  const md = path.join(runDir, 'report.md');
  const html = path.join(runDir, 'report.html');
  await writeFile(md, renderMarkdown(model));
  await writeFile(html, await renderHtml(model));
  return { md, html };
}

runMain(main);
