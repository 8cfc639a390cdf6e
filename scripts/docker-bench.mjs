#!/usr/bin/env node
// make bench with the Docker runtime (make bench-docker): runs the client container against the
// server container of the running stack (make up), lands results in ./results/<run-id>/ on the
// host, adds server and client CPU/RSS read from the stack's Prometheus, writes report.md and
// report.html, and prints the Grafana URL of the run's time range.
// Settings: MODE CLIENTS DURATION WARMUP from the environment (the Makefile exports them);
// MODE_ORIGIN (make's $(origin MODE)) tells an explicit MODE from make's default.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'wsbench-bench';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
process.chdir(repoRoot);

const { benchConfig, UsageError } = await import('./lib/config.mjs');
const { makeUniqueDir, pointLink, resultsDir, stampId } = await import('./lib/results.mjs');

const env = process.env;
const project = env.WSBENCH_PROJECT || 'wsbench';
const CONTAINER_RESULTS = '/results';
const SAMPLE_S = 1; // Prometheus scrapes every second (prometheus/prometheus.yml)

function fail(code, message) {
  console.error(`${NAME}: ${message}`);
  process.exit(code);
}

/** KEY=VALUE lines of .env, which compose reads too; the environment wins over it. */
function dotenv() {
  const out = {};
  if (!existsSync('.env')) return out;
  for (const line of readFileSync('.env', 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}
const fileEnv = dotenv();
const setting = (name, def) => env[name] || fileEnv[name] || def;

function stack(...args) {
  const r = spawnSync('bash', ['scripts/stack.sh', ...args], { encoding: 'utf8' });
  if (r.status !== 0) fail(1, `scripts/stack.sh ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

// --- which server: MODE when given, else the one that runs
const running = stack('modes').split('\n').filter(Boolean);
if (running.length === 0) {
  fail(
    2,
    `no server container of the Docker stack "${project}" is running: start one with make up MODE=uws, or run natively with make bench RUNTIME=native`,
  );
}
const explicit = ['command line', 'environment', 'environment override'].includes(env.MODE_ORIGIN);
let cfg;
try {
  const mode = !explicit && running.length === 1 ? running[0] : env.MODE;
  cfg = benchConfig({ ...env, MODE: mode });
} catch (err) {
  if (err instanceof UsageError) fail(2, err.message);
  throw err;
}
if (!running.includes(cfg.mode)) {
  fail(
    2,
    `invalid MODE "${cfg.mode}": its server does not run in the Docker stack (running: ${running.join(', ')}); make up MODE=${cfg.mode} first`,
  );
}

// --- the run folder, writable by the container's user (root on the host maps to uid 1000)
// RESULTS_DIR (default ./results) is mounted at /results in the client container.
const root = resultsDir();
const { id: runId, dir: runDir } = await makeUniqueDir(root, stampId(cfg.mode));
const hostUid = process.getuid();
const hostGid = process.getgid();
const uid = hostUid === 0 ? 1000 : hostUid;
const gid = hostUid === 0 ? 1000 : hostGid;
if (hostUid === 0) await chown(runDir, uid, gid);

const url = `ws://server-${cfg.mode}:8080/`;
// prettier-ignore
const clientArgs = [
  '--url', url,
  '--clients', String(cfg.clients),
  '--duration', String(cfg.duration),
  '--warmup', String(cfg.warmup),
  '--metrics-port', '9464',
  '--run-id', runId,
  '--out', `${CONTAINER_RESULTS}/${runId}/result.json`,
];
const tty = process.stdin.isTTY && process.stderr.isTTY;
// prettier-ignore
const composeArgs = [
  'compose', '--profile', 'bench', 'run', '--rm', '--no-deps', '--use-aliases',
  ...(tty ? [] : ['-T']),
  '--label', `wsbench.mode=${cfg.mode}`,
  '--label', `wsbench.run_id=${runId}`,
  'client', ...clientArgs,
];

console.error(
  `${NAME}: runtime docker (project ${project}, server-${cfg.mode} container, client container) — ` +
    `run ${runId}: ${cfg.clients} client(s), ${cfg.duration}s after ${cfg.warmup}s warm-up → ${path.relative(repoRoot, runDir)}`,
);
const startedMs = Date.now();
const child = spawn('bash', ['scripts/stack.sh', ...composeArgs], {
  stdio: ['inherit', 'inherit', 'inherit'],
  env: { ...env, WSBENCH_UID: String(uid), WSBENCH_GID: String(gid) },
});
// Ctrl-C reaches the compose process too (same process group); wait for it to finish the run.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => {});
const exitCode = await new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 130)));
const endedMs = Date.now();

if (hostUid === 0) spawnSync('chown', ['-R', `${hostUid}:${hostGid}`, runDir]);
const resultFile = path.join(runDir, 'result.json');
if (!existsSync(resultFile))
  fail(exitCode || 1, `the client wrote no ${resultFile} (exit ${exitCode})`);

// --- server and client resources from Prometheus, in the native result's shape
const result = JSON.parse(await readFile(resultFile, 'utf8'));
const promUrl = `http://127.0.0.1:${setting('PROMETHEUS_PORT', '9090')}`;
const windowEnd = Date.parse(result.endedAt) || endedMs;
const windowStart = windowEnd - cfg.duration * 1000;
const server = await resources(`job="wsbench-server",mode="${cfg.mode}"`);
const client = await resources(`job="wsbench-client",run_id="${runId}"`);
result.server = {
  mode: cfg.mode,
  cpuCores: server.cpuCores,
  rssMaxBytes: server.rssMaxBytes,
  versions: result.target?.health?.versions ?? null,
  pid: null,
  exit: null,
};
result.placement = placement();
result.resources = {
  intervalMs: SAMPLE_S * 1000,
  windowSec: (windowEnd - windowStart) / 1000,
  source: `prometheus ${promUrl}`,
  server,
  client,
};
const grafanaUrl = grafanaLink(startedMs, endedMs);
result.bench = {
  runtime: 'docker',
  scenario: null,
  command: `make bench RUNTIME=docker MODE=${cfg.mode} CLIENTS=${cfg.clients} DURATION=${cfg.duration} WARMUP=${cfg.warmup}`,
  config: { mode: cfg.mode, clients: cfg.clients, duration: cfg.duration, warmup: cfg.warmup },
  docker: { project, serverService: `server-${cfg.mode}`, images: images(), grafanaUrl },
  prometheus: { url: promUrl },
  clientExit: { code: exitCode, signal: null },
};
if (exitCode !== 0 && !result.aborted) {
  result.aborted = { reason: `client-bench container exited with code ${exitCode}` };
}
await writeFile(resultFile, JSON.stringify(result, null, 2) + '\n');

try {
  const { writeRunReports } = await import('./lib/report.mjs');
  const reports = await writeRunReports(runDir);
  console.error(`  report  ${reports.md}\n          ${reports.html}`);
} catch (err) {
  console.error(`${NAME}: no report written (${err.message})`);
}
await pointLink(root, 'latest', runDir);

const msgs = result.throughput?.msgsPerSec;
console.error(
  `  runtime docker · ${cfg.mode}: ${msgs == null ? '–' : Math.round(msgs).toLocaleString('en-US')} msg/s delivered to ${cfg.clients} client(s)` +
    ` · server CPU ${server.cpuCores ?? '–'} cores, RSS max ${mib(server.rssMaxBytes)} · client CPU ${client.cpuCores ?? '–'} cores`,
);
console.error(`  result  ${resultFile}`);
console.error(
  `  grafana ${grafanaUrl}${grafanaRunning() ? '' : '  (Grafana is not running: make up GRAFANA=1)'}`,
);
console.log(
  JSON.stringify({
    event: 'result',
    runtime: 'docker',
    runId,
    runDir,
    result: resultFile,
    grafanaUrl,
    exitCode,
  }),
);
process.exitCode = exitCode;

// ---------------------------------------------------------------------------------------------

function mib(bytes) {
  return bytes == null ? '–' : `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** CPU (cores) and RSS of one Prometheus target over the measured window, like the native sampler. */
async function resources(selector) {
  const empty = { cpuCores: null, rssMaxBytes: null, samples: [] };
  try {
    const [cpu, rss] = await Promise.all([
      queryRange(`max(process_cpu_seconds_total{${selector}})`),
      queryRange(`max(process_resident_memory_bytes{${selector}})`),
    ]);
    if (cpu.length < 2)
      return { ...empty, rssMaxBytes: rss.length ? Math.max(...rss.map((p) => p[1])) : null };
    const rssAt = new Map(rss);
    const samples = [];
    for (let i = 1; i < cpu.length; i++) {
      const [t0, c0] = cpu[i - 1];
      const [t1, c1] = cpu[i];
      samples.push([
        round(t1 - windowStart / 1000),
        round((c1 - c0) / (t1 - t0)),
        rssAt.get(t1) ?? null,
      ]);
    }
    const first = cpu[0];
    const last = cpu[cpu.length - 1];
    return {
      cpuCores: round((last[1] - first[1]) / (last[0] - first[0])),
      rssMaxBytes: rss.length ? Math.max(...rss.map((p) => p[1])) : null,
      samples,
    };
  } catch (err) {
    console.error(`${NAME}: no resource figures from Prometheus (${err.message})`);
    return empty;
  }
}

async function queryRange(query) {
  const q = new URLSearchParams({
    query,
    start: String(windowStart / 1000),
    end: String(windowEnd / 1000),
    step: `${SAMPLE_S}s`,
  });
  const res = await fetch(`${promUrl}/api/v1/query_range?${q}`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.json();
  if (body.status !== 'success') throw new Error(`${query}: ${body.error ?? res.status}`);
  return (body.data.result[0]?.values ?? []).map(([t, v]) => [Number(t), Number(v)]);
}

function round(n) {
  return Math.round(n * 1000) / 1000;
}

function placement() {
  const serverSet = setting('SERVER_CPUSET', '');
  const clientSet = setting('CLIENT_CPUSET', '');
  const limits = `SERVER_CPUS=${setting('SERVER_CPUS', '0')} CLIENT_CPUS=${setting('CLIENT_CPUS', '0')}`;
  return serverSet || clientSet
    ? {
        pinned: true,
        server: { cores: serverSet || null },
        client: { cores: clientSet || null },
        orchestrator: { cores: null },
        reason: `docker cpuset; ${limits}`,
      }
    : {
        pinned: false,
        server: { cores: null },
        client: { cores: null },
        reason: `docker, no cpuset (set SERVER_CPUSET/CLIENT_CPUSET in .env); ${limits}`,
      };
}

function images() {
  const inspect = (ref) =>
    spawnSync('docker', ['image', 'inspect', '-f', '{{.Id}}', ref], {
      encoding: 'utf8',
    }).stdout.trim() || null;
  const tag = setting('WSBENCH_TAG', 'local');
  return {
    server: { ref: `wsbench/server:${tag}`, id: inspect(`wsbench/server:${tag}`) },
    client: { ref: `wsbench/client-bench:${tag}`, id: inspect(`wsbench/client-bench:${tag}`) },
    nodeBase: setting('NODE_IMAGE', 'node:20.18.0-bookworm-slim'),
  };
}

/** The provisioned dashboard that has a `mode` variable (wsbench-overview). */
function dashboardUid() {
  const dir = 'grafana/dashboards';
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];
  for (const f of files) {
    try {
      const d = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
      if (d.uid && d.templating?.list?.some((v) => v.name === 'mode')) return d.uid;
    } catch {
      // not a dashboard: skip it
    }
  }
  return 'wsbench-overview';
}

function grafanaLink(fromMs, toMs) {
  const q = new URLSearchParams({
    from: String(fromMs - 5000),
    to: String(toMs + 5000),
    'var-mode': cfg.mode,
    'var-run_id': runId,
  });
  return `http://127.0.0.1:${setting('GRAFANA_PORT', '3000')}/d/${dashboardUid()}?${q}`;
}

function grafanaRunning() {
  const r = spawnSync(
    'docker',
    [
      'ps',
      '-q',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      'label=wsbench.role=grafana',
      '--filter',
      'status=running',
    ],
    { encoding: 'utf8' },
  );
  return r.status === 0 && r.stdout.trim() !== '';
}
