// Client -> server commands and the server's replies. The server validates every frame here and
// answers anything it does not understand with an error frame; the connection stays up.
import { MAX_SYMBOL_LENGTH, MAX_SYMBOLS } from './symbols.js';

export interface SubscribeCommand {
  op: 'subscribe';
  /** Symbol names, or ['*'] for all. */
  symbols: string[];
}
export interface UnsubscribeCommand {
  op: 'unsubscribe';
  symbols: string[];
}
export interface PingCommand {
  op: 'ping';
  id: number;
}
export type ClientCommand = SubscribeCommand | UnsubscribeCommand | PingCommand;
export const COMMAND_OPS = ['subscribe', 'unsubscribe', 'ping'] as const;

export const ERROR_CODES = [
  'bad_json',
  'bad_command',
  'unknown_op',
  'bad_symbols',
  'binary_not_supported',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ParseResult =
  { ok: true; command: ClientCommand } | { ok: false; code: ErrorCode; message: string };

function fail(code: ErrorCode, message: string): ParseResult {
  return { ok: false, code, message };
}

/**
 * A short, bounded description of a client's value for an error message. It never recurses: a
 * command nested thousands of arrays deep (a few KB of text) would overflow the stack in
 * JSON.stringify and take the server down while it builds the reply.
 */
function quote(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v.length > 64 ? v.slice(0, 64) : v);
  else if (Array.isArray(v)) s = `an array of ${v.length}`;
  else if (v !== null && typeof v === 'object')
    s = `an object {${Object.keys(v)
      .slice(0, 4)
      .map((k) => JSON.stringify(k.slice(0, 16)))
      .join(',')}}`;
  else s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function parseSymbols(v: unknown, known: ReadonlySet<string> | null): string[] | string {
  if (!Array.isArray(v) || v.length === 0) return 'symbols must be a non-empty array of strings';
  if (v.length > MAX_SYMBOLS) return `too many symbols: ${v.length} (at most ${MAX_SYMBOLS})`;
  for (const s of v) {
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_SYMBOL_LENGTH) {
      return `invalid symbol ${quote(s)} (expected a string of 1..${MAX_SYMBOL_LENGTH} characters)`;
    }
    if (s !== '*' && known && !known.has(s)) {
      return `unknown symbol ${quote(s)} (known: ${[...known].slice(0, 16).join(', ')}${known.size > 16 ? ', ...' : ''}, or "*")`;
    }
  }
  return v as string[];
}

/**
 * Parses and validates one text frame from a client. `known` is the server's symbol set (null
 * accepts any well-formed symbol).
 */
export function parseCommand(text: string, known: ReadonlySet<string> | null = null): ParseResult {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return fail('bad_json', `frame is not valid JSON: ${quote(text)}`);
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    return fail('bad_command', `expected a JSON object with "op", got ${quote(msg)}`);
  }
  const m = msg as Record<string, unknown>;
  switch (m.op) {
    case 'subscribe':
    case 'unsubscribe': {
      const symbols = parseSymbols(m.symbols, known);
      if (typeof symbols === 'string') return fail('bad_symbols', symbols);
      return { ok: true, command: { op: m.op, symbols } };
    }
    case 'ping': {
      const id = m.id;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        return fail('bad_command', `ping needs "id": a non-negative integer, got ${quote(id)}`);
      }
      return { ok: true, command: { op: 'ping', id } };
    }
    default:
      return fail(
        'unknown_op',
        `unknown op ${quote(m.op)} (expected one of: ${COMMAND_OPS.join(', ')})`,
      );
  }
}

export function encodePong(id: number, ts: number): string {
  return '{"type":"pong","id":' + id + ',"ts":' + ts + '}';
}

export function encodeError(code: ErrorCode, message: string): string {
  return JSON.stringify({ type: 'error', code, message });
}

export function encodeSubscribed(
  kind: 'subscribed' | 'unsubscribed',
  symbols: readonly string[],
): string {
  return JSON.stringify({ type: kind, symbols });
}

export function encodeCommand(cmd: ClientCommand): string {
  return JSON.stringify(cmd);
}
