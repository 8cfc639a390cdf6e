// The main thread's side of the worker threads: starts them with their share of the connections,
// turns their tagged messages into promises (connected, window started, report, exited) and
// tells the run when every connection is gone or a worker failed.
import { Worker } from 'node:worker_threads';
import type { Config } from './config.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerReport } from './messages.js';

export type Connected = Extract<FromWorker, { kind: 'connected' }>;

export interface PoolEvents {
  /** Open connections over all workers changed (after the connect phase: a server close). */
  openCount(total: number, lastClose: string): void;
  /** A worker thread threw. */
  failed(worker: number, err: Error): void;
}

/** A promise with its resolver (Promise.withResolvers is Node 22+). */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

class WorkerHandle {
  readonly thread: Worker;
  readonly connected = deferred<Connected>();
  readonly windowStarted = deferred<undefined>();
  readonly report = deferred<WorkerReport>();
  readonly exited = deferred<undefined>();
  open = 0;

  constructor(init: WorkerInit, onMessage: (h: WorkerHandle, m: FromWorker) => void) {
    this.thread = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    this.thread.on('message', (m: FromWorker) => {
      onMessage(this, m);
    });
    this.thread.once('exit', () => {
      this.exited.resolve(undefined);
    });
  }

  post(msg: ToWorker): void {
    this.thread.postMessage(msg);
  }
}

export class WorkerPool {
  private readonly workers: WorkerHandle[] = [];

  constructor(
    cfg: Config,
    sab: SharedArrayBuffer,
    bucketLatency: boolean,
    originUs: number,
    events: PoolEvents,
  ) {
    const perWorker = Math.floor(cfg.clients / cfg.workers);
    const extra = cfg.clients % cfg.workers;
    const handlers: {
      [K in FromWorker['kind']]: (h: WorkerHandle, m: Extract<FromWorker, { kind: K }>) => void;
    } = {
      connected: (h, m) => {
        h.open = m.opened;
        h.connected.resolve(m);
      },
      'window-started': (h) => {
        h.windowStarted.resolve(undefined);
      },
      'open-count': (h, m) => {
        h.open = m.open;
        events.openCount(this.open(), m.lastClose);
      },
      report: (h, m) => {
        h.report.resolve(m.report);
      },
    };
    const dispatch = handlers as Record<
      FromWorker['kind'],
      (h: WorkerHandle, m: FromWorker) => void
    >;
    let first = 0;
    for (let w = 0; w < cfg.workers; w++) {
      const count = perWorker + (w < extra ? 1 : 0);
      const init: WorkerInit = {
        originUs,
        workerIndex: w,
        firstClient: first,
        count,
        config: cfg,
        sab,
        bucketLatency,
      };
      first += count;
      const h = new WorkerHandle(init, (handle, m) => {
        dispatch[m.kind](handle, m);
      });
      h.thread.on('error', (err) => {
        events.failed(w, err);
      });
      this.workers.push(h);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Open connections now, over all workers (as last reported). */
  open(): number {
    return this.workers.reduce((a, h) => a + h.open, 0);
  }

  connected(): Promise<Connected[]> {
    return Promise.all(this.workers.map((h) => h.connected.promise));
  }

  /** Asks every worker to open its window; resolves when all have. */
  startWindow(): Promise<undefined[]> {
    for (const h of this.workers) h.post({ kind: 'window-start' });
    return Promise.all(this.workers.map((h) => h.windowStarted.promise));
  }

  /** Sends `msg` to every worker. */
  broadcast(msg: ToWorker): void {
    for (const h of this.workers) h.post(msg);
  }

  /** Ends the window; each report, or null for a worker that missed `timeoutMs`. */
  endWindow(timeoutMs: number): Promise<(WorkerReport | null)[]> {
    for (const h of this.workers) h.post({ kind: 'window-end' });
    return Promise.all(this.workers.map((h) => withTimeout(h.report.promise, timeoutMs, null)));
  }

  /** Waits up to `graceMs` for the workers to exit on their own, then terminates them. */
  async close(graceMs: number): Promise<void> {
    if (graceMs > 0)
      await withTimeout(Promise.all(this.workers.map((h) => h.exited.promise)), graceMs, null);
    await Promise.all(this.workers.map((h) => h.thread.terminate()));
  }
}

/** `p`, or `fallback` after `ms`; the timer is cleared either way so it cannot hold the process. */
export function withTimeout<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<F>(
    (resolve) =>
      (timer = setTimeout(() => {
        resolve(fallback);
      }, ms)),
  );
  return Promise.race([p, t]).finally(() => {
    clearTimeout(timer);
  });
}
