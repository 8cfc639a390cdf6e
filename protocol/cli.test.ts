import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError, defineFlags, helpText, parse, parseCli } from './cli.js';

const FLAGS = defineFlags({
  port: {
    long: 'port',
    short: 'p',
    env: ['PORT'],
    arg: 'N',
    help: 'TCP port',
    default: 8080,
    parse: parse.int(0, 65535),
  },
  mode: {
    long: 'mode',
    env: ['MODE'],
    arg: 'M',
    help: 'mode',
    default: 'ws',
    parse: parse.oneOf(['ws', 'uws']),
  },
  json: { long: 'json', short: 'j', env: ['JSON'], help: 'JSON out', default: false },
  symbols: {
    long: 'symbols',
    arg: 'LIST',
    help: 'symbols',
    default: [],
    parse: parse.list(parse.matching(/^[A-Z]+$/, 'upper-case names')),
  },
});

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `not a UsageError: ${String(err)}`);
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  assert.fail('no UsageError');
}

describe('parseCli', () => {
  it('merges defaults <- env <- flags and says where each value came from', () => {
    const r = parseCli('t', FLAGS, ['-p', '9000', '--symbols=A,B'], { env: { MODE: 'uws' } });
    assert.ok(!r.help);
    assert.deepEqual(r.values, { port: 9000, mode: 'uws', json: false, symbols: ['A', 'B'] });
    assert.deepEqual(r.sources, {
      port: 'flag',
      mode: 'MODE',
      json: 'default',
      symbols: 'flag',
    });
    const flagWins = parseCli('t', FLAGS, ['--port', '1'], { env: { PORT: '2', JSON: 'yes' } });
    assert.ok(!flagWins.help);
    assert.equal(flagWins.values.port, 1);
    assert.equal(flagWins.values.json, true);
  });

  it('quotes a bad value and lists what is allowed, for flags and env', () => {
    assert.match(
      usage(() => parseCli('t', FLAGS, ['--port', '70000'], { env: {} })),
      /^t: invalid --port "70000": expected an integer 0-65535$/,
    );
    assert.match(
      usage(() => parseCli('t', FLAGS, [], { env: { MODE: 'fast' } })),
      /invalid MODE \(env for --mode\) "fast": expected one of: ws, uws/,
    );
    assert.match(
      usage(() => parseCli('t', FLAGS, ['--symbols', 'A,b'], { env: {} })),
      /invalid --symbols "A,b": expected a comma list of upper-case names/,
    );
    assert.match(
      usage(() => parseCli('t', FLAGS, ['--bogus'], { env: {} })),
      /unknown option "--bogus": expected one of --port\/-p, --mode/,
    );
    assert.match(
      usage(() => parseCli('t', FLAGS, ['extra'], { env: {} })),
      /"extra"/,
    );
    assert.match(
      usage(() => parseCli('t', FLAGS, ['--port'], { env: {} })),
      /--port needs a value/,
    );
    assert.match(
      usage(() => parseCli('t', FLAGS, ['--json=1'], { env: {} })),
      /takes no value/,
    );
  });

  it('answers --help and allows positionals only when asked', () => {
    assert.deepEqual(parseCli('t', FLAGS, ['-h'], { env: {} }), { help: true });
    const r = parseCli('t', FLAGS, ['a.json', 'b.json'], { env: {}, positionals: true });
    assert.ok(!r.help);
    assert.deepEqual(r.positionals, ['a.json', 'b.json']);
  });

  it('generates help with every flag, its default, what is allowed and its env', () => {
    const text = helpText(FLAGS, { usage: 't [options]' });
    assert.match(
      text,
      /-p, --port N\s+TCP port\n\s+\(default 8080; an integer 0-65535; env PORT\)/,
    );
    assert.match(text, /--json\s+JSON out\n\s+\(default off; env JSON\)/);
    assert.match(text, /Exit codes: 0 ok, 1 failed, 2 badInput, 3 aborted, 130 interrupted/);
  });
});
