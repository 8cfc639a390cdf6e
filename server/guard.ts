// No client input and no bug in a per-connection handler may take the process down: the modes run
// their message and close handlers through here. An exception is counted
// (wsbench_server_handler_errors_total{handler}), logged (the first few with their stack), and the
// mode then closes the offending connection with 1011; every other client carries on. Without it
// a throw inside a ws listener or a uWS callback is an uncaught exception: every client gets 1006.
import type { ServerStats } from './metrics.js';

export const HANDLERS = ['message', 'close'] as const;
export type HandlerName = (typeof HANDLERS)[number];

/** Stacks logged in full; after that one line every LOG_EVERY errors (a flood must not flood stderr). */
const LOG_FIRST = 5;
const LOG_EVERY = 1000;

/** Counts and logs one exception thrown by a connection handler. */
export function handlerFailed(
  stats: ServerStats,
  log: (message: string) => void,
  handler: HandlerName,
  err: unknown,
): void {
  const n = stats.handlerError(handler);
  const total = stats.handlerErrorsTotal();
  if (total <= LOG_FIRST) {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`${handler} handler failed (connection closed with 1011, server continues): ${text}`);
  } else if (total % LOG_EVERY === 0) {
    log(
      `${total} handler errors so far (${n} in ${handler}); see wsbench_server_handler_errors_total`,
    );
  }
}

/**
 * Test-only fault injection: off unless the server was started with WSBENCH_TEST_FAULT=<token>
 * in its environment, so no frame alone can reach it. Then a text frame equal to `<token>` makes
 * the message handler throw, and `<token>:close` makes that connection's close handler throw
 * (server/hostile-handlers.test.ts proves the guard with it).
 */
const FAULT_TOKEN = process.env.WSBENCH_TEST_FAULT ?? '';

export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

/** Throws when `text` is the injected fault token; returns whether it asked for a close fault. */
export function injectedFault(text: string): boolean {
  if (FAULT_TOKEN === '' || !text.startsWith(FAULT_TOKEN)) return false;
  if (text === FAULT_TOKEN) throw new InjectedFault('injected fault in the message handler');
  return text === FAULT_TOKEN + ':close';
}
