// The client's own /metrics while a run is in progress: names and labels from
// docs/interfaces.md, values that move, and an exposition promtool accepts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startTestServer } from '../testkit/client-test-server.js';
import { startClient } from '../testkit/client-run.js';
import { requireTool } from '../testkit/require-tool.js';

const server = await startTestServer({ kind: 'steady', rate: 1000 }, 1);
after(() => server.close());

function value(text: string, re: RegExp): number {
  const line = text.split('\n').find((l) => re.test(l));
  assert.ok(line, `a line matching ${re}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('/metrics serves wsbench_client_* with mode and run_id while running; promtool accepts it', async (t) => {
  const run = startClient([
    '-u',
    server.url,
    '-c',
    '2',
    '-d',
    '30',
    '-w',
    '0',
    '-M',
    '0',
    '-i',
    'metrics-run',
  ]);
  try {
    const ready = await run.waitFor(/^\{"event":"metrics","port":\d+\}$/);
    const port = (JSON.parse(ready) as { port: number }).port;
    await run.waitFor(/^\[run [2-9]/);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    const L = 'mode="test",run_id="metrics-run"';
    const received = value(text, new RegExp(`^wsbench_client_messages_received_total\\{${L}\\} `));
    assert.ok(received > 0, `received ${received}`);
    assert.ok(
      value(text, new RegExp(`^wsbench_client_bytes_received_total\\{${L}\\} `)) > received * 50,
    );
    assert.equal(value(text, new RegExp(`^wsbench_client_connections\\{state="open",${L}\\} `)), 2);
    assert.equal(value(text, new RegExp(`^wsbench_client_gaps_total\\{${L}\\} `)), 0);
    assert.equal(
      value(text, new RegExp(`^wsbench_client_errors_total\\{type="disconnect",${L}\\} `)),
      0,
    );
    const inf = value(
      text,
      new RegExp(`^wsbench_client_latency_seconds_bucket\\{le="\\+Inf",${L}\\} `),
    );
    assert.ok(inf > 0 && inf <= received, `latency count ${inf} <= received ${received}`);
    assert.ok(
      value(text, new RegExp(`^wsbench_client_latency_seconds_bucket\\{le="0.00005",${L}\\} `)) <=
        inf,
    );
    assert.equal(value(text, new RegExp(`^wsbench_client_connect_seconds_count\\{${L}\\} `)), 2);
    for (const name of [
      'wsbench_client_cpu_cores',
      'wsbench_client_worker_busy_ratio_max',
      'wsbench_client_bound',
    ]) {
      assert.ok(!Number.isNaN(value(text, new RegExp(`^${name}\\{${L}\\} `))), name);
    }
    assert.ok(
      text.includes(`process_cpu_user_seconds_total{${L}}`),
      'default metrics carry the labels',
    );
    // Counters only grow between scrapes.
    const again = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.ok(
      value(again, new RegExp(`^wsbench_client_messages_received_total\\{${L}\\} `)) >= received,
    );
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);

    const promtool = requireTool(t, 'promtool');
    if (promtool) {
      // `check metrics` parses and lints; it fails on any problem. prom-client's own default
      // metrics carry lint findings (nodejs_active_handles_total is a gauge), so only our
      // families are checked.
      const ours = text
        .split('\n')
        .filter((l) => /^(# (HELP|TYPE) )?wsbench_client_/.test(l))
        .join('\n');
      execFileSync(promtool, ['check', 'metrics'], { input: ours + '\n' });
    }
  } finally {
    run.child.kill('SIGINT');
    await run.done;
  }
});
