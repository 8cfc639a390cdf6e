// Numbers the programs agree on: process exit codes (every wsbench program, docs/interfaces.md)
// and the WebSocket close codes the server sends and the client reports (RFC 6455 §7.4.1).

/**
 * prom-client's event-loop monitor (perf_hooks.monitorEventLoopDelay) on server and client-bench
 * samples every this many ms, and its `nodejs_eventloop_lag_*` figures include that interval: an
 * idle loop reads ~20 ms. Whoever reads them as lag subtracts it (soak, dashboard).
 */
export const LOOP_LAG_RESOLUTION_MS = 20;

/** Exit codes of server, client-bench, the scripts and the tools. */
export const EXIT = {
  /** The run completed (a client-bound run is still 0: the verdict says it). */
  ok: 0,
  /** An unexpected failure (a bug, a mode that cannot run here). */
  failed: 1,
  /** Bad input: a flag, an env value, an unreachable URL. */
  badInput: 2,
  /** The run was aborted (the server died mid-run); the partial result was written. */
  aborted: 3,
  /** SIGINT: what was measured so far was kept. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** WebSocket close codes used on the wire. */
export const CLOSE = {
  normal: 1000,
  /** Server shutting down (SIGTERM). */
  goingAway: 1001,
  protocolError: 1002,
  /** No close frame was received (never sent on the wire). */
  noStatus: 1005,
  abnormal: 1006,
  invalidPayload: 1007,
  /** Slow-client policy `close`: its backlog exceeded the limit. */
  policy: 1008,
  /** A client frame over the payload limit. */
  tooBig: 1009,
  internalError: 1011,
} as const;
export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];
