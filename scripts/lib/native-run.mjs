// One native run: server and client-bench as local processes (pinned to separate cores when the
// machine has two), autocannon against /snapshot during the measured window, CPU and RSS sampled
// from /proc, then one result.json = the client's result + server, http, placement, resources
// and bench blocks. Used by bench.mjs (one run) and compare.mjs (the matrix).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from './config.mjs';
import { runHttpLoad } from './http-load.mjs';
import { allowedCpus, hasTaskset, pinPid, startNode } from './proc.mjs';
import { ProcSampler } from './sampler.mjs';
import { machineInfo, repoRoot, versions } from './versions.mjs';

export const SERVER_MAIN = path.join(repoRoot, 'dist/server/main.js');
export const CLIENT_MAIN = path.join(repoRoot, 'dist/client-bench/main.js');
const PROMETHEUS_LOCAL = path.join(repoRoot, 'scripts/prometheus-local.mjs');

const SERVER_READY_MS = 20_000;
const SAMPLE_MS = 250;

/** server or client-bench has not been compiled into dist/ yet. */
class NotBuiltError extends Error {}

/** Throws NotBuiltError when server or client-bench has not been compiled into dist/ yet. */
export function assertBuilt() {
  for (const [file, what] of [
    [SERVER_MAIN, 'server'],
    [CLIENT_MAIN, 'client-bench'],
  ]) {
    if (!existsSync(file))
      throw new NotBuiltError(`${what} is not built: ${file} is missing (run make build)`);
  }
}

/**
 * The start of every native script: reads its settings with `readConfig` and checks the build.
 * A bad setting exits 2 with its message, a missing build exits 1.
 */
export function configOrExit(name, readConfig) {
  try {
    const cfg = readConfig();
    assertBuilt();
    return cfg;
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof NotBuiltError)) throw err;
    console.error(`${name}: ${err.message}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
}

/** Thrown when the run was interrupted (Ctrl-C); whatever was measured is still written. */
class Interrupted extends Error {}

/** Resolves after ms, or rejects with Interrupted when signal aborts; `also` ends it early. */
function wait(ms, signal, also = null) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Interrupted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Interrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve('timeout');
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    also?.then(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve('ended');
    });
  });
}

function abortable(promise, signal) {
  if (!signal) return promise;
  let onAbort;
  const aborted = new Promise((_, reject) => {
    onAbort = () => reject(new Interrupted());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() =>
    signal.removeEventListener('abort', onAbort),
  );
}

async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

/**
 * Placement: on >= 2 allowed CPUs (and taskset present) the server gets the first, the client the
 * second; the orchestrator (and autocannon in it) joins the client's core so the server's core
 * runs only the server. PIN=0 turns it off, SERVER_CORES / CLIENT_CORES choose other cores.
 */
export function choosePlacement(cfg) {
  const cpus = allowedCpus();
  const base = {
    cpus: cpus.length,
    server: { cores: null },
    client: { cores: null },
    orchestrator: { cores: null },
  };
  if (cfg.pin === false) return { ...base, pinned: false, reason: 'PIN=0' };
  if (!hasTaskset()) return { ...base, pinned: false, reason: 'taskset not found (util-linux)' };
  if (cpus.length < 2 && !(cfg.serverCores && cfg.clientCores)) {
    return { ...base, pinned: false, reason: `only ${cpus.length} CPU available` };
  }
  const server = cfg.serverCores ?? String(cpus[0]);
  const client = cfg.clientCores ?? String(cpus.find((c) => String(c) !== server) ?? cpus[1]);
  return {
    ...base,
    pinned: true,
    reason:
      cfg.serverCores || cfg.clientCores ? 'SERVER_CORES/CLIENT_CORES' : `${cpus.length} CPUs`,
    server: { cores: server },
    client: { cores: client },
    orchestrator: { cores: client },
  };
}

/**
 * Runs one benchmark. cfg: see config.mjs (mode, clients, duration, warmup, rate, symbols, pin,
 * httpLoad, httpConnections, prometheus). Returns { result, exitCode, resultFile }.
 */
export async function runNative(
  cfg,
  { runDir, runId, progress, signal, scenario = null, command = null },
) {
  assertBuilt();
  const placement = choosePlacement(cfg);
  if (placement.pinned && !(await pinPid(process.pid, placement.orchestrator.cores))) {
    placement.orchestrator.cores = null;
  }
  const startedAt = new Date();
  const timeline = {};
  const mark = (name) => (timeline[name] = performance.now());
  let server = null;
  let client = null;
  let serverSampler = null;
  let clientSampler = null;
  let prometheus = null;
  let health = null;
  let port = null;
  let httpLoad = null;
  let failure = null;
  let interrupted = false;
  const httpAbort = new AbortController();
  const clientResultFile = path.join(runDir, 'client-result.json');

  try {
    progress.phase(
      'server',
      `starting the ${cfg.mode} server (rate ${cfg.rate || 'max'}, ${cfg.symbols} symbols)`,
    );
    server = startNode(
      'server',
      [
        SERVER_MAIN,
        '--mode',
        cfg.mode,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--rate',
        String(cfg.rate),
        '--symbols',
        String(cfg.symbols),
      ],
      { cores: placement.server.cores, logFile: path.join(runDir, 'server.log') },
    );
    placement.server.pid = server.pid;
    const ready = await abortable(
      server.waitForLine((e) => e.json?.event === 'listening', SERVER_READY_MS),
      signal,
    );
    port = ready.json.port;
    health = await getJson(`http://127.0.0.1:${port}/health`);
    serverSampler = new ProcSampler(server.pid, SAMPLE_MS).start();
    mark('serverReady');

    progress.phase('connect', `client-bench opening ${cfg.clients} connection(s)`);
    const metricsSeen = new Promise((resolve) => {
      client = startNode(
        'client',
        [
          CLIENT_MAIN,
          '--url',
          `ws://127.0.0.1:${port}/`,
          '--clients',
          String(cfg.clients),
          '--duration',
          String(cfg.duration),
          '--warmup',
          String(cfg.warmup),
          '--run-id',
          runId,
          '--out',
          clientResultFile,
          '--json',
          '--quiet',
          ...(cfg.prometheus ? ['--metrics-port', '0'] : []),
        ],
        {
          cores: placement.client.cores,
          logFile: path.join(runDir, 'client.log'),
          onStderrLine(line) {
            if (!line.startsWith('{')) return;
            try {
              const ev = JSON.parse(line);
              if (ev.event === 'metrics') resolve(ev.port);
            } catch {
              // not an event line
            }
          },
        },
      );
    });
    placement.client.pid = client.pid;
    clientSampler = new ProcSampler(client.pid, SAMPLE_MS).start();
    if (cfg.prometheus) {
      prometheus = startPrometheus({
        runDir,
        port,
        metricsSeen,
        mode: cfg.mode,
        runId,
        progress,
        client,
      });
    }

    // All connections are open when the server counts them; warm-up starts then (design: connect,
    // then warm up, then measure).
    const clientEnded = client.exited;
    const connectDeadline = performance.now() + 30_000 + cfg.clients * 20;
    while (performance.now() < connectDeadline) {
      const h = await getJson(`http://127.0.0.1:${port}/health`).catch(() => null);
      if (h && h.clients >= cfg.clients) break;
      if ((await wait(100, signal, clientEnded)) === 'ended') break;
    }
    mark('connected');

    if (cfg.warmup > 0 && client.code === null) {
      progress.phase('warm-up', 'broadcasting, not counted', cfg.warmup);
      await wait(cfg.warmup * 1000, signal, clientEnded);
    }
    mark('windowStart');
    if (client.code === null) {
      progress.phase('measure', `measuring ${cfg.clients} client(s)`, cfg.duration);
      if (cfg.httpLoad) {
        // the middle half of the window (the whole window when it is short)
        const short = cfg.duration < 4;
        const delay = short ? 0 : cfg.duration / 4;
        const seconds = short ? cfg.duration : cfg.duration / 2;
        httpLoad = wait(delay * 1000, httpAbort.signal)
          .then(() =>
            runHttpLoad({
              url: `http://127.0.0.1:${port}/snapshot`,
              seconds,
              connections: cfg.httpConnections,
              signal: httpAbort.signal,
            }),
          )
          .catch(() => null);
      }
      await wait(cfg.duration * 1000, signal, clientEnded);
    }
    mark('windowEnd');
    progress.phase('finish', 'waiting for client-bench to write its result');
    const grace = 30_000 + cfg.clients * 10;
    if ((await wait(grace, signal, clientEnded)) === 'timeout') {
      failure = new Error(`client-bench did not finish within ${grace / 1000}s after its window`);
    }
  } catch (err) {
    if (err instanceof Interrupted) interrupted = true;
    else failure = err;
  } finally {
    if (timeline.windowStart && !timeline.windowEnd) mark('windowEnd');
    httpAbort.abort();
    // The client first, with SIGINT: it writes what it measured (exit 130). Then the server.
    if (client) await client.stop('SIGINT', 15_000);
    serverSampler?.stop();
    clientSampler?.stop();
    const serverStillUp = server && server.code === null && server.signal === null;
    if (server) await server.stop('SIGTERM', 6_000);
    if (server && !serverStillUp && !interrupted && !failure) {
      failure = new Error(
        `the server exited during the run (code ${server.code}, signal ${server.signal}); see server.log`,
      );
    }
    if (prometheus) {
      const p = await prometheus.catch(() => null);
      await p?.stop?.().catch(() => {});
    }
  }

  const http = httpLoad ? await httpLoad : null;
  let result = null;
  try {
    result = JSON.parse(await readFile(clientResultFile, 'utf8'));
  } catch {
    result = null;
  }
  // The CPU/RSS window: client-bench's own measured window when it reported one (result.window;
  // not endedAt, which follows the collection of worker reports, when the clients have already
  // closed and the server idles); otherwise what was observed live (all connections counted by
  // /health + warm-up), which misses when some connections failed.
  let from = timeline.windowStart ?? timeline.connected ?? timeline.serverReady ?? 0;
  let to = timeline.windowEnd ?? performance.now();
  const windowStartMs = Date.parse(result?.window?.startedAt ?? '');
  const windowEndMs = Date.parse(result?.window?.endedAt ?? '');
  if (Number.isFinite(windowStartMs) && windowEndMs > windowStartMs) {
    const nowPerf = performance.now();
    const nowWall = Date.now();
    to = nowPerf - (nowWall - windowEndMs);
    from = nowPerf - (nowWall - windowStartMs);
  }
  const sw = serverSampler?.window(from, to) ?? { cpuCores: null, rssMaxBytes: null, samples: [] };
  const cw = clientSampler?.window(from, to) ?? { cpuCores: null, rssMaxBytes: null, samples: [] };

  const clientExit = client ? { code: client.code, signal: client.signal } : null;
  if (!result) result = skeleton({ cfg, runId, startedAt, port, health });
  const reason = interrupted
    ? 'interrupted (SIGINT)'
    : failure
      ? failure.message
      : client && client.code !== 0
        ? `client-bench exited with code ${client.code}${client.signal ? ` (${client.signal})` : ''}`
        : null;
  if (reason && !result.aborted) result.aborted = { reason };

  const pv = await prometheus?.catch(() => null);
  const ver = versions();
  result.server = {
    mode: cfg.mode,
    cpuCores: sw.cpuCores,
    rssMaxBytes: sw.rssMaxBytes,
    versions: health?.versions ?? null,
    pid: server?.pid ?? null,
    exit: server ? { code: server.code, signal: server.signal } : null,
  };
  result.http = http && !http.error ? http : null;
  result.placement = placement;
  result.resources = {
    intervalMs: SAMPLE_MS,
    windowSec: Math.round((to - from) / 10) / 100,
    server: sw,
    client: cw,
  };
  result.bench = {
    runtime: 'native',
    scenario,
    command,
    config: {
      mode: cfg.mode,
      clients: cfg.clients,
      duration: cfg.duration,
      warmup: cfg.warmup,
      rate: cfg.rate,
      symbols: cfg.symbols,
      pin: placement.pinned,
      httpLoad: cfg.httpLoad,
      httpConnections: cfg.httpConnections,
    },
    versions: ver,
    prometheus: pv
      ? { url: pv.url, dir: path.relative(runDir, pv.dataDir ?? path.join(runDir, 'prometheus')) }
      : null,
    clientExit,
    httpError: http?.error ?? null,
  };

  const resultFile = path.join(runDir, 'result.json');
  await writeFile(resultFile, JSON.stringify(result, null, 2) + '\n');
  let exitCode = 0;
  if (interrupted) exitCode = 130;
  else if (clientExit?.code === 2) exitCode = 2;
  else if (failure || (clientExit && clientExit.code !== 0))
    exitCode = clientExit?.code === 3 ? 3 : 1;
  return { result, resultFile, exitCode, interrupted, failure };
}

/** A result for a run that ended before client-bench wrote one: what is known, nothing invented. */
function skeleton({ cfg, runId, startedAt, port, health }) {
  return {
    schemaVersion: 1,
    runId,
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    machine: machineInfo(),
    config: {
      url: port ? `ws://127.0.0.1:${port}/` : null,
      clients: cfg.clients,
      duration: cfg.duration,
      warmup: cfg.warmup,
      workers: null,
      symbols: '*',
    },
    target: { mode: cfg.mode, health: health ?? null },
    throughput: null,
    delivery: null,
    latencyUs: null,
    rttUs: null,
    connectMs: null,
    client: null,
    errors: [],
    closes: {},
    aborted: null,
  };
}

/** Starts the local Prometheus when possible; never fails the run. Resolves with it or null. */
async function startPrometheus({ runDir, port, metricsSeen, mode, runId, progress, client }) {
  try {
    if (!existsSync(PROMETHEUS_LOCAL)) return null;
    const { startLocalPrometheus } = await import(PROMETHEUS_LOCAL);
    const clientPort = await Promise.race([
      metricsSeen,
      client.exited.then(() => null),
      wait(10_000).then(() => null),
    ]);
    const prom = await startLocalPrometheus({
      dir: path.join(runDir, 'prometheus'),
      targets: {
        server: [`127.0.0.1:${port}`],
        client: clientPort ? [`127.0.0.1:${clientPort}`] : [],
      },
      mode,
      runId,
    });
    if (prom)
      progress.note(`Prometheus: ${prom.url} (data kept in ${path.join(runDir, 'prometheus')})`);
    return prom;
  } catch (err) {
    progress.note(`Prometheus not started (the run goes on): ${err.message}`);
    return null;
  }
}
