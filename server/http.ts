// HTTP routes shared by every mode: the modes only translate their request/response objects.
// /health, /snapshot and 404 are answered synchronously (uWS requires it unless the request is
// guarded with onAborted); /metrics is async because prom-client's registry is.
import { createRequire } from 'node:module';
import { clockKind, nowUs } from '../protocol/index.js';
import type { Generator } from './generator.js';
import type { Route, ServerMetrics, ServerStats } from './metrics.js';
import { loadedUws } from './uws-loader.js';

export const JSON_TYPE = 'application/json';

export interface HttpReply {
  route: Route;
  status: 200 | 404;
  contentType: string;
  body: string;
}

export interface Versions {
  node: string;
  ws: string;
  uws: string;
  wsbench: string;
}

const require = createRequire(import.meta.url);

function versionOf(spec: string): string {
  try {
    return (require(spec) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Package versions for /health, read once from the installed package.json files. */
export function readVersions(): Versions {
  return {
    node: process.version,
    ws: versionOf('ws/package.json'),
    uws: versionOf('uWebSockets.js/package.json'),
    // dist/server/http.js -> the repository root; the server package as a fallback (images).
    wsbench: ((v) => (v === 'unknown' ? versionOf('../package.json') : v))(
      versionOf('../../package.json'),
    ),
  };
}

/** The /health body (docs/interfaces.md). */
export interface Health {
  status: 'ok';
  mode: string;
  pid: number;
  uptimeSec: number;
  clients: number;
  rate: number;
  /** How the pacer waits: sleep, spin or interval (--pacer). */
  pacer: string;
  /** sleep pacer: the shortest wait between turns in ms (--turn-ms) */
  turnMs: number;
  /** µs of CPU burnt per tick (--burn-us test aid; 0 = off). */
  burnUs: number;
  /** The optimisation switches on (ws engine), or what uws does. */
  opts: readonly string[];
  symbols: readonly string[];
  versions: Versions;
  /** What ran: the Node binary and the uWS package whose native binary loaded (null: no uws). */
  runtime: { node: string; uws: ReturnType<typeof loadedUws> };
  clock: 'monotonic-us' | 'wall-us';
}

export interface RouteContext {
  mode: string;
  rate: number;
  pacer: () => string;
  turnMs: number;
  burnUs: number;
  opts: readonly string[];
  generator: Generator;
  stats: ServerStats;
  metrics: ServerMetrics;
  versions: Versions;
  startedAtMs: number;
}

export class HttpRoutes {
  constructor(private readonly ctx: RouteContext) {}

  /** Path without the query string. */
  static pathOf(url: string): string {
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  }

  /** Answers every route except /metrics (see isMetrics/metrics) synchronously; counts it. */
  reply(path: string): HttpReply {
    const { stats } = this.ctx;
    if (path === '/health') {
      stats.httpRequest('health');
      return { route: 'health', status: 200, contentType: JSON_TYPE, body: this.health() };
    }
    if (path === '/snapshot') {
      stats.httpRequest('snapshot');
      const body = this.ctx.generator.snapshot(nowUs());
      return { route: 'snapshot', status: 200, contentType: JSON_TYPE, body };
    }
    stats.httpRequest('not_found');
    const body = JSON.stringify({ error: 'not_found', path: path.slice(0, 256) });
    return { route: 'not_found', status: 404, contentType: JSON_TYPE, body };
  }

  isMetrics(path: string): boolean {
    return path === '/metrics';
  }

  async metrics(): Promise<HttpReply> {
    this.ctx.stats.httpRequest('metrics');
    const body = await this.ctx.metrics.registry.metrics();
    return { route: 'metrics', status: 200, contentType: this.ctx.metrics.contentType, body };
  }

  health(): string {
    const c = this.ctx;
    const body: Health = {
      status: 'ok',
      mode: c.mode,
      pid: process.pid,
      uptimeSec: Math.round((Date.now() - c.startedAtMs) / 100) / 10,
      clients: c.stats.clientsConnected,
      rate: c.rate,
      pacer: c.pacer(),
      turnMs: c.turnMs,
      burnUs: c.burnUs,
      opts: c.opts,
      symbols: c.generator.symbols,
      // The uws package that loaded, not the alias' (an image keeps only the one that loads).
      versions: { ...c.versions, uws: loadedUws()?.version ?? c.versions.uws },
      runtime: { node: process.version, uws: loadedUws() },
      clock: clockKind === 'monotonic' ? 'monotonic-us' : 'wall-us',
    };
    return JSON.stringify(body);
  }
}
