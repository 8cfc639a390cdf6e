// The Swarm stack without deploying it (make test-swarm deploys it for real): `docker stack config`
// renders deploy/swarm/stack.yml the way `docker stack deploy` reads it, and the rendering must
// give replica k shard k/N, its own result folder, the server by its service name and Prometheus
// its Swarm config; promtool accepts that config; make swarm-bench refuses bad input before it
// touches Docker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { requireTool } from '../testkit/require-tool.js';
import { repoRoot } from './results.js';

const root = repoRoot();
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const key of path.split('.')) cur = isObj(cur) ? cur[key] : undefined;
  return cur;
}

/**
 * The stack file as `docker stack deploy` reads it: `docker stack config` (Docker CLI >= 23) where
 * the CLI has it; on older CLIs (Debian 12's 20.10) the same ${VAR:-default} interpolation done
 * here, with the numbers Compose casts (replicas) as numbers.
 */
function renderStack(docker: string, env: Record<string, string>): unknown {
  const file = join(root, 'deploy', 'swarm', 'stack.yml');
  const r = spawnSync(docker, ['stack', 'config', '-c', file], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (r.status === 0) return parseYaml(r.stdout);
  assert.match(r.stderr, /unknown shorthand flag|unknown command|Usage/, r.stderr);
  const text = readFileSync(file, 'utf8').replace(
    /\$\{(\w+)(?::-([^}]*))?\}/g,
    (_, name: string, def: string | undefined) => env[name] ?? def ?? '',
  );
  const stack: unknown = parseYaml(text);
  const replicas = at(stack, 'services.client.deploy') as Obj;
  replicas.replicas = Number(replicas.replicas);
  return stack;
}

test('docker stack config: replica k runs shard k/N into its own folder, against the server', (t) => {
  const docker = requireTool(t, 'docker', 'make deps (docker.io)');
  if (!docker) return;
  const env = {
    SHARDS: '3',
    CLIENT_REPLICAS: '3',
    CLIENTS: '300',
    START_AT: '1767225600000',
    RUN_DIR: '/r/run',
    WSBENCH_ROOT: '/r',
    SERVER_URL: 'ws://10.0.0.7:8080/',
  };
  const stack = renderStack(docker, env);
  const client = at(stack, 'services.client');
  assert.equal(at(client, 'deploy.replicas'), 3);
  assert.equal(at(client, 'deploy.restart_policy.condition'), 'none');
  assert.equal(at(client, 'environment.WSBENCH_SHARD'), '{{.Task.Slot}}/3');
  assert.equal(at(client, 'environment.WSBENCH_START_AT'), '1767225600000');
  const command = at(client, 'command') as string[];
  const flag = (name: string) => command[command.indexOf(name) + 1];
  assert.equal(flag('--url'), 'ws://10.0.0.7:8080/');
  assert.equal(flag('--clients'), '300');
  assert.equal(flag('--out'), '/results/result.json');
  assert.equal(flag('--metrics-port'), '9464');
  assert.deepEqual(at(client, 'volumes'), [
    { type: 'bind', source: '/r/run/shard-{{.Task.Slot}}', target: '/results' },
  ]);

  const prom = at(stack, 'services.prometheus');
  assert.ok((at(prom, 'command') as string[]).includes('--config.file=/etc/prometheus/swarm.yml'));
  assert.deepEqual(at(prom, 'volumes'), [
    { type: 'bind', source: '/r/prometheus', target: '/etc/prometheus', read_only: true },
    { type: 'bind', source: '/r/run/targets', target: '/etc/wsbench-targets', read_only: true },
  ]);
  // Nothing is published on the host.
  for (const name of ['server', 'client', 'prometheus']) {
    assert.equal(at(stack, `services.${name}.ports`), undefined, `${name} publishes a port`);
  }
});

test('prometheus/swarm.yml: promtool accepts it; targets from the files the script writes', (t) => {
  const promtool = requireTool(t, 'promtool');
  if (!promtool) return;
  const r = spawnSync(promtool, ['check', 'config', 'swarm.yml'], {
    cwd: join(root, 'prometheus'),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  const config: unknown = parseYaml(readFileSync(join(root, 'prometheus', 'swarm.yml'), 'utf8'));
  const jobs = (at(config, 'scrape_configs') as Obj[]).map((j) => [
    j.job_name,
    at(j, 'honor_labels'),
    JSON.stringify(at(j, 'file_sd_configs')),
  ]);
  assert.deepEqual(jobs, [
    [
      'wsbench-server',
      true,
      '[{"files":["/etc/wsbench-targets/server.json"],"refresh_interval":"1s"}]',
    ],
    [
      'wsbench-client',
      true,
      '[{"files":["/etc/wsbench-targets/client.json"],"refresh_interval":"1s"}]',
    ],
  ]);
});

test('make swarm-bench refuses bad input with exit 2, quoting the value, before Docker', () => {
  for (const [env, message] of [
    [{ SHARDS: '0' }, /invalid SHARDS "0": expected an integer 1-1024/],
    [{ SHARDS: '5', CLIENTS: '4' }, /invalid SHARDS "5": expected at most CLIENTS \(4\)/],
    [{ MODE: 'fast' }, /invalid MODE "fast": expected ws-naive, ws or uws/],
  ] as const) {
    const r = spawnSync('bash', ['deploy/swarm/swarm-bench.sh'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CLIENTS: '10', ...env },
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});
