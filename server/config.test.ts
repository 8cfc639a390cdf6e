import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../protocol/cli.js';
import { DEFAULTS, helpText, parseConfig, type ServerConfig } from './config.js';
import { runServer } from '../testkit/server-harness.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  const r = parseConfig(argv, env);
  assert.ok(!r.help, 'not --help');
  return r.config;
}

describe('config', () => {
  it('uses the documented defaults', () => {
    assert.deepEqual(config([]), {
      mode: 'ws',
      port: 8080,
      host: '127.0.0.1',
      rate: 0,
      symbols: 8,
      batch: 64,
      maxBackpressure: 1048576,
      slowClient: 'drop',
      opt: { preset: true },
      pacer: 'auto',
      turnMs: 1,
      burnUs: 0,
      maxPayload: 16384,
    });
    assert.deepEqual(config([]), DEFAULTS);
  });

  it('reads long, short and --flag=value forms', () => {
    const c = config(['--mode', 'uws', '-p', '0', '--rate=5000', '-s', '16', '-H', '0.0.0.0']);
    assert.equal(c.mode, 'uws');
    assert.equal(c.port, 0);
    assert.equal(c.rate, 5000);
    assert.equal(c.symbols, 16);
    assert.equal(c.host, '0.0.0.0');
    const d = config([
      '--max-backpressure',
      '4096',
      '--slow-client',
      'close',
      '--max-payload',
      '128',
      '-b',
      '1',
    ]);
    assert.equal(d.maxBackpressure, 4096);
    assert.equal(d.slowClient, 'close');
    assert.equal(d.maxPayload, 128);
    assert.equal(d.batch, 1);
    assert.deepEqual(config(['--opt', 'nodelay,pacer']).opt, {
      preset: false,
      set: ['pacer', 'nodelay'],
    });
    assert.deepEqual(config(['-O', 'none']).opt, { preset: false, set: [] });
    assert.deepEqual(config([], { OPTS: 'pacer+batch' }).opt, {
      preset: false,
      set: ['pacer', 'batch'],
    });
    const e = config(['--pacer', 'spin', '--burn-us', '250', '--turn-ms=5']);
    assert.deepEqual([e.pacer, e.burnUs, e.turnMs], ['spin', 250, 5]);
    assert.equal(config([], { PACER: 'interval', BURN_US: '7', TURN_MS: '2' }).burnUs, 7);
  });

  it('reads env, SERVER_MODE before MODE, and flags win over env', () => {
    const env = {
      MODE: 'ws-naive',
      PORT: '9000',
      RATE: '10',
      SLOW_CLIENT: 'close',
      HOST: 'localhost',
    };
    const c = config([], env);
    assert.equal(c.mode, 'ws-naive');
    assert.equal(c.port, 9000);
    assert.equal(c.rate, 10);
    assert.equal(c.slowClient, 'close');
    assert.equal(c.host, 'localhost');
    assert.equal(config([], { ...env, SERVER_MODE: 'uws' }).mode, 'uws');
    assert.equal(config(['--mode', 'ws', '--rate', '7'], env).rate, 7);
    assert.equal(config(['--mode', 'ws'], env).mode, 'ws');
  });

  it('rejects bad values, quoting them and listing what is allowed', () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--rate', 'abc'], {}, /invalid --rate "abc": expected an integer >= 0/],
      [['--rate=-1'], {}, /invalid --rate "-1": expected an integer >= 0/],
      // parseArgs reads "-1" after a flag as an option, so the value counts as missing.
      [['--rate', '-1'], {}, /--rate needs a value: an integer >= 0/],
      [['--mode', 'fast'], {}, /invalid --mode "fast": expected one of: ws-naive, ws, uws/],
      [['--port', '70000'], {}, /invalid --port "70000": expected an integer 0-65535/],
      [['--symbols', '0'], {}, /invalid --symbols "0": expected an integer 1-1024/],
      [['--symbols', '1025'], {}, /invalid --symbols "1025"/],
      [['--batch', '1.5'], {}, /invalid --batch "1.5"/],
      [['--max-backpressure', '10'], {}, /invalid --max-backpressure "10": expected .*>= 1024/],
      [['--slow-client', 'kill'], {}, /invalid --slow-client "kill": expected one of: drop, close/],
      [['--max-payload', '1e6'], {}, /invalid --max-payload "1e6"/],
      [
        ['--opt', 'batch,turbo'],
        {},
        /invalid --opt "batch,turbo": expected preset \(the mode's own\), none, all, or a comma list of: pacer, serialize-once, frame-once, batch, nodelay/,
      ],
      [[], { OPTS: 'fast' }, /invalid OPTS \(env for --opt\) "fast": expected preset/],
      [
        ['--pacer', 'fast'],
        {},
        /invalid --pacer "fast": expected one of: auto, sleep, spin, interval/,
      ],
      [[], { PACER: 'busy' }, /invalid PACER \(env for --pacer\) "busy": expected one of: auto,/],
      [['--burn-us', '-5'], {}, /--burn-us needs a value/],
      [['--burn-us', '2.5'], {}, /invalid --burn-us "2.5": expected an integer number of µs/],
      [['--turn-ms', '0'], {}, /invalid --turn-ms "0": expected an integer number of ms 1-1000/],
      [['--host', 'no such host!'], {}, /invalid --host "no such host!"/],
      [[], { RATE: 'fast' }, /invalid RATE \(env for --rate\) "fast"/],
      [['--bogus'], {}, /unknown option "--bogus": expected one of .*--mode\/-m/],
      [['--rate'], {}, /--rate needs a value: an integer >= 0/],
      [['stray'], {}, /unexpected argument "stray"/],
      [
        [],
        { SLOW_CLIENT: 'later' },
        /invalid SLOW_CLIENT \(env for --slow-client\) "later": expected one of: drop, close/,
      ],
    ];
    for (const [argv, env, re] of cases) {
      assert.throws(
        () => parseConfig(argv, env),
        (err: Error) => {
          assert.ok(err instanceof UsageError, `${argv.join(' ')}: ${String(err)}`);
          assert.equal(err.exitCode, 2);
          assert.match(err.message, re);
          return true;
        },
      );
    }
  });

  it('help lists every flag with its default', () => {
    assert.deepEqual(parseConfig(['--mode', 'ws', '-h']), { help: true });
    const h = helpText();
    for (const flag of [
      '--mode',
      '--port',
      '--host',
      '--rate',
      '--symbols',
      '--batch',
      '--max-backpressure',
      '--slow-client',
      '--max-payload',
      '--pacer',
      '--turn-ms',
      '--burn-us',
      '--help',
    ]) {
      assert.ok(h.includes(flag), `help mentions ${flag}`);
    }
    for (const v of Object.values(DEFAULTS)) {
      const text = typeof v === 'object' ? 'preset' : String(v);
      assert.ok(h.includes(`default ${text}`), `help shows default ${text}`);
    }
    for (const env of ['SERVER_MODE/MODE', 'MAX_BACKPRESSURE', 'SLOW_CLIENT'])
      assert.ok(h.includes(`env ${env}`), `help names env ${env}`);
  });
});

describe('server CLI', () => {
  it('--help prints the flags on stdout and exits 0', async () => {
    const r = await runServer(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--max-backpressure/);
    assert.match(r.stdout, /default ws;/);
  });

  it('a bad flag exits 2 with the message on stderr and nothing on stdout', async () => {
    const r = await runServer(['--rate', 'abc']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /wsbench-server: invalid --rate "abc": expected an integer >= 0/);
  });

  it('a bad env value exits 2 too', async () => {
    const r = await runServer([], { MODE: 'turbo' });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /invalid MODE \(env for --mode\) "turbo": expected one of: ws-naive, ws, uws/,
    );
    const c = await runServer([], { WSBENCH_CLOCK: 'sundial' });
    assert.equal(c.code, 2);
    assert.match(c.stderr, /"sundial"/);
  });

  it('a port in use exits 1 with a message', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      for (const mode of ['ws', 'uws']) {
        const r = await runServer(['--mode', mode, '--port', String(port)]);
        assert.equal(r.code, 1, `${mode}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, new RegExp(`cannot (start|listen)`));
      }
    } finally {
      blocker.close();
    }
  });
});
