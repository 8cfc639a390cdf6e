// No client input and no bug in a per-connection handler may take the process down: the modes run
// their message and close handlers (uws also open and drain) through here. An exception is counted
// (wsbench_server_handler_errors_total{handler}), logged (the first few with their stack), and the
// mode then closes the offending connection with 1011; every other client carries on. Without it
// a throw inside a ws listener or a uWS callback is an uncaught exception: every client gets 1006.
import type { ServerStats } from './metrics.js';

export const HANDLERS = ['message', 'close', 'open', 'drain'] as const;
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
 * the message handler throw, `<token>:close` makes that connection's close handler throw and
 * `<token>:drain` its drain handler (uws; server/hostile-handlers.test.ts proves the guard with
 * it). Nothing reaches open: no frame comes before it, and uWS's open gets no request.
 */
const FAULT_TOKEN = process.env.WSBENCH_TEST_FAULT ?? '';

export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

/** A later handler of the connection that an injected fault makes throw. */
export type ArmedFault = 'close' | 'drain';

/** Throws when `text` is the injected fault token; returns the later fault it arms, or null. */
export function injectedFault(text: string): ArmedFault | null {
  if (FAULT_TOKEN === '' || !text.startsWith(FAULT_TOKEN)) return null;
  if (text === FAULT_TOKEN) throw new InjectedFault('injected fault in the message handler');
  if (text === FAULT_TOKEN + ':close') return 'close';
  if (text === FAULT_TOKEN + ':drain') return 'drain';
  return null;
}
