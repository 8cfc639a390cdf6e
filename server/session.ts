// One client's protocol state, the same in every mode: which symbols it is subscribed to, and the
// answer to each frame it sends. Modes only move bytes; they never interpret a command themselves.
import {
  encodeError,
  encodePong,
  encodeSubscribed,
  nowUs,
  parseCommand,
  type ErrorCode,
} from '../protocol/index.js';
import { InjectedFault, injectedFault, type ArmedFault } from './guard.js';
import type { ServerStats } from './metrics.js';

/** The server's symbols with a name -> index lookup, built once. */
export class SymbolTable {
  readonly index = new Map<string, number>();
  readonly known: ReadonlySet<string>;
  constructor(readonly names: readonly string[]) {
    names.forEach((n, i) => this.index.set(n, i));
    this.known = new Set(names);
  }
}

/**
 * A client's subscriptions as one byte per symbol. `key` names the set ('' none, '*' all, else
 * the indices), so clients with the same set can share one buffer per batch.
 */
export class Subscriptions {
  readonly mask: Uint8Array;
  count = 0;
  key = '';

  constructor(readonly size: number) {
    this.mask = new Uint8Array(size);
  }

  get all(): boolean {
    return this.count === this.size;
  }

  /** Sets or clears one symbol; returns whether it changed. */
  set(i: number, on: boolean): boolean {
    if ((this.mask[i] === 1) === on) return false;
    this.mask[i] = on ? 1 : 0;
    this.count += on ? 1 : -1;
    return true;
  }

  rekey(): void {
    if (this.count === 0) this.key = '';
    else if (this.count === this.size) this.key = '*';
    else {
      const on: number[] = [];
      for (let i = 0; i < this.size; i++) if (this.mask[i] === 1) on.push(i);
      this.key = on.join(',');
    }
  }
}

/** Called for every symbol whose subscription changed (uws maps it to topics). */
export type SubscriptionListener = (symbolIndex: number, subscribed: boolean) => void;

export class Session {
  readonly subs: Subscriptions;
  /** Test-only (WSBENCH_TEST_FAULT): clear() throws, as a buggy close handler would. */
  private armedFault: ArmedFault | null = null;

  constructor(
    private readonly table: SymbolTable,
    private readonly stats: ServerStats,
    private readonly onChange: SubscriptionListener | null = null,
  ) {
    this.subs = new Subscriptions(table.names.length);
  }

  private error(code: ErrorCode, message: string): string {
    this.stats.clientError(code);
    return encodeError(code, message);
  }

  /** Answers one binary frame: binary is not part of the protocol. */
  binary(length: number): string {
    return this.error(
      'binary_not_supported',
      `binary frames are not supported (got ${length} bytes); send JSON text frames`,
    );
  }

  /** Handles one text frame and returns the reply frame's text. */
  text(text: string): string {
    this.armedFault = injectedFault(text) ?? this.armedFault;
    const r = parseCommand(text, this.table.known);
    if (!r.ok) return this.error(r.code, r.message);
    const cmd = r.command;
    if (cmd.op === 'ping') return encodePong(cmd.id, nowUs());
    const on = cmd.op === 'subscribe';
    const { subs, table, onChange } = this;
    for (const name of cmd.symbols) {
      if (name === '*') {
        for (let i = 0; i < subs.size; i++) if (subs.set(i, on) && onChange) onChange(i, on);
      } else {
        const i = table.index.get(name);
        if (i !== undefined && subs.set(i, on) && onChange) onChange(i, on);
      }
    }
    subs.rekey();
    return encodeSubscribed(on ? 'subscribed' : 'unsubscribed', cmd.symbols);
  }

  /** Test-only (guard.ts): throws when `<token>:drain` armed this connection's drain handler. */
  drained(): void {
    if (this.armedFault === 'drain') throw new InjectedFault('injected fault in the drain handler');
  }

  /** Drops every subscription (on close), reporting each change. */
  clear(): void {
    for (let i = 0; i < this.subs.size; i++) {
      if (this.subs.set(i, false) && this.onChange) this.onChange(i, false);
    }
    this.subs.rekey();
    if (this.armedFault === 'close') throw new InjectedFault('injected fault in the close handler');
  }
}
