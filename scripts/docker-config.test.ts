// The Docker Compose stack as Compose itself reads it (docker-compose config, no daemon needed):
// profiles per mode, ports on 127.0.0.1 only, pinned images, configurable CPU limits, a Grafana
// password that must come from .env, and `make up`'s first-use .env with a random password.
// The running stack is proved end to end by scripts/docker-e2e.sh (make test-docker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from '../testkit/require-tool.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ALL = ['--profile', 'all', '--profile', 'bench', '--profile', 'grafana'];
const SERVERS = { 'server-ws-naive': 'ws-naive', 'server-ws': 'ws', 'server-uws': 'uws' };

/** One service of `docker-compose config` (the parts these tests read). */
interface ComposeService {
  profiles?: string[];
  environment: Record<string, string>;
  network_mode?: string;
  labels: Record<string, string>;
  build: { network?: string; args: Record<string, string> };
  healthcheck?: { test?: unknown };
  ports?: (string | { host_ip?: string | number })[];
  depends_on: { prometheus: { condition: string } };
  command: string[];
  image: string;
  cpus?: string | number;
  cpuset?: string | number;
}

/** `docker-compose config`, parsed. */
interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** A service of the parsed config; missing is a failure. */
function service(cfg: ComposeConfig, name: string): ComposeService {
  const s = cfg.services[name];
  if (s === undefined) throw new Error(`docker-compose config has no service "${name}"`);
  return s;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd = repoRoot,
): Run {
  // stdout/stderr are null when the command could not be spawned
  const r: SpawnSyncReturns<string | null> = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A scratch dir with an empty env file, so that a developer's .env does not change the answers. */
function scratch(t: { after(fn: () => void): void }): { dir: string; envFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'wsbench-compose-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const envFile = path.join(dir, 'empty.env');
  writeFileSync(envFile, '');
  return { dir, envFile };
}

/** Runs `docker-compose <profiles> config <extra>` on the repository's file, isolated from .env. */
function composeConfig(
  envFile: string,
  profiles: string[],
  env: Record<string, string | undefined>,
  extra: string[] = [],
) {
  const args = ['-p', 'wsbench-config-test', '--env-file', envFile, '-f', 'docker-compose.yml'];
  return run('docker-compose', [...args, ...profiles, 'config', ...extra], env);
}

/** `docker-compose config` of the repository's file, parsed (PyYAML ships with docker-compose). */
function config(
  envFile: string,
  profiles: string[],
  env: Record<string, string | undefined>,
): ComposeConfig {
  const r = composeConfig(envFile, profiles, env);
  assert.equal(r.code, 0, `docker-compose config failed: ${r.stderr}`);
  const json = spawnSync(
    'python3',
    ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'],
    {
      input: r.stdout,
      encoding: 'utf8',
    },
  );
  assert.equal(json.status, 0, json.stderr);
  return JSON.parse(json.stdout) as ComposeConfig;
}

/** Published ports in either syntax: "127.0.0.1:8081:8080/tcp" or { host_ip, published, target }. */
function hostIps(svc: ComposeService): string[] {
  return (svc.ports ?? []).map((p) =>
    typeof p === 'string' ? (p.split(':')[0] ?? '') : String(p.host_ip ?? ''),
  );
}

test('compose config: one service per mode behind profiles, client and Grafana opt-in, host network on 127.0.0.1 only', (t) => {
  if (!requireTool(t, 'docker-compose')) return;
  const { envFile } = scratch(t);
  const cfg = config(envFile, ALL, { GRAFANA_ADMIN_PASSWORD: 'test-password' });
  const names = Object.keys(cfg.services).sort();
  assert.deepEqual(names, [
    'client',
    'grafana',
    'prometheus',
    'server-uws',
    'server-ws',
    'server-ws-naive',
  ]);

  for (const [svc, mode] of Object.entries(SERVERS)) {
    const s = service(cfg, svc);
    assert.deepEqual(s.profiles, [mode, 'all'], `${svc} profiles`);
    assert.equal(s.environment.MODE, mode, `${svc} MODE`);
    assert.equal(s.network_mode, 'host', `${svc} uses the host network (no bridge on the path)`);
    assert.equal(s.environment.HOST, '127.0.0.1', `${svc} listens on the host's loopback only`);
    assert.equal(s.environment.PORT, { 'ws-naive': '8081', ws: '8082', uws: '8083' }[mode]);
    assert.equal(s.labels['wsbench.role'], 'server');
    assert.equal(s.labels['wsbench.mode'], mode);
    assert.equal(s.build.network, 'host', `${svc} builds with the host network (npm ci)`);
    assert.ok(s.healthcheck?.test, `${svc} has a healthcheck`);
  }
  assert.deepEqual(service(cfg, 'client').profiles, ['bench']);
  assert.deepEqual(service(cfg, 'grafana').profiles, ['grafana']);
  assert.equal(service(cfg, 'prometheus').profiles, undefined, 'prometheus runs in every profile');
  assert.equal(service(cfg, 'grafana').depends_on.prometheus.condition, 'service_healthy');

  for (const [name, s] of Object.entries(cfg.services)) {
    assert.equal(s.network_mode, 'host', `${name} uses the host network`);
    assert.deepEqual(hostIps(s), [], `${name} publishes no port (host network: it listens itself)`);
  }
  assert.equal(service(cfg, 'client').environment.METRICS_HOST, '127.0.0.1');
  assert.ok(
    service(cfg, 'prometheus').command.includes('--web.listen-address=127.0.0.1:9090'),
    'prometheus listens on 127.0.0.1 only',
  );
  assert.equal(service(cfg, 'grafana').environment.GF_SERVER_HTTP_ADDR, '127.0.0.1');

  // Pinned images: a version tag, never latest; the Node base is a pinned build argument.
  for (const img of [service(cfg, 'prometheus').image, service(cfg, 'grafana').image]) {
    assert.match(img, /:v?\d+\.\d+\.\d+$/, `image "${img}" is pinned`);
  }
  assert.match(
    service(cfg, 'server-uws').build.args.NODE_IMAGE ?? '',
    /^node:24\.\d+\.\d+-trixie-slim$/,
  );
  assert.ok(cfg.volumes['grafana-data'] && cfg.volumes['prometheus-data'], 'named volumes');
  assert.equal(
    service(cfg, 'grafana').environment.GF_AUTH_ANONYMOUS_ENABLED,
    'false',
    'anonymous viewing is opt-in',
  );
});

test('compose config: base images, CPU limits and cpusets come from the environment', (t) => {
  if (!requireTool(t, 'docker-compose')) return;
  const { envFile } = scratch(t);
  const cfg = config(envFile, ALL, {
    GRAFANA_ADMIN_PASSWORD: 'x',
    NODE_IMAGE: 'wsbench-local/node:20-bookworm',
    PROMETHEUS_IMAGE: 'wsbench-local/prometheus:2.42',
    SERVER_CPUS: '1.5',
    SERVER_CPUSET: '0',
    CLIENT_CPUS: '1',
    CLIENT_CPUSET: '1',
    GRAFANA_ANONYMOUS: 'true',
  });
  for (const svc of [...Object.keys(SERVERS), 'client']) {
    assert.equal(service(cfg, svc).build.args.NODE_IMAGE, 'wsbench-local/node:20-bookworm', svc);
  }
  assert.equal(service(cfg, 'prometheus').image, 'wsbench-local/prometheus:2.42');
  for (const svc of Object.keys(SERVERS)) {
    assert.equal(Number(service(cfg, svc).cpus), 1.5, `${svc} cpus`);
    assert.equal(String(service(cfg, svc).cpuset), '0', `${svc} cpuset`);
  }
  assert.equal(Number(service(cfg, 'client').cpus), 1);
  assert.equal(String(service(cfg, 'client').cpuset), '1');
  assert.equal(service(cfg, 'grafana').environment.GF_AUTH_ANONYMOUS_ENABLED, 'true');
  assert.equal(service(cfg, 'grafana').environment.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer');
});

test('compose config: Grafana has no default admin password', (t) => {
  if (!requireTool(t, 'docker-compose')) return;
  const { envFile } = scratch(t);
  const r = composeConfig(
    envFile,
    ['--profile', 'grafana'],
    { GRAFANA_ADMIN_PASSWORD: undefined },
    ['-q'],
  );
  assert.notEqual(r.code, 0, 'config must fail without GRAFANA_ADMIN_PASSWORD');
  assert.match(r.stderr, /GRAFANA_ADMIN_PASSWORD/);
  const cfg = config(envFile, ['--profile', 'grafana'], {
    GRAFANA_ADMIN_PASSWORD: 's3cret-from-env',
  });
  assert.equal(service(cfg, 'grafana').environment.GF_SECURITY_ADMIN_PASSWORD, 's3cret-from-env');
});

test('make up on first use writes .env with a random Grafana password; bad MODE/GRAFANA exit 2', (t) => {
  if (!requireTool(t, 'docker-compose')) return;
  const { dir } = scratch(t);
  // A copy of the files stack.sh reads, so the checkout's own .env is left alone.
  const copy = (rel: string, into: string) => {
    mkdirSync(path.dirname(path.join(into, rel)), { recursive: true });
    copyFileSync(path.join(repoRoot, rel), path.join(into, rel));
  };
  const passwords: string[] = [];
  for (const name of ['a', 'b']) {
    const root = path.join(dir, name);
    for (const rel of [
      'docker-compose.yml',
      '.env.example',
      'scripts/stack.sh',
      'docker/node-version.sh',
    ])
      copy(rel, root);
    const env = { WSBENCH_COMPOSE: 'docker-compose', GRAFANA_ADMIN_PASSWORD: undefined };
    const r = run(
      'bash',
      [path.join(root, 'scripts/stack.sh'), 'compose', '--profile', 'grafana', 'config', '-q'],
      env,
      root,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /created \.env/);
    const dotenv = readFileSync(path.join(root, '.env'), 'utf8');
    const pw = /^GRAFANA_ADMIN_PASSWORD=(.*)$/m.exec(dotenv)?.[1] ?? '';
    assert.ok(pw.length >= 16, `generated password "${pw}" is long enough`);
    assert.ok(!['admin', 'password', 'grafana'].includes(pw));
    assert.equal(
      statSync(path.join(root, '.env')).mode & 0o077,
      0,
      '.env is readable by its owner only',
    );
    passwords.push(pw);

    const bad = run(
      'bash',
      [path.join(root, 'scripts/stack.sh'), 'up'],
      { ...env, MODE: 'fastest' },
      root,
    );
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /invalid MODE "fastest": expected ws-naive, ws, uws or all/);
    const badG = run(
      'bash',
      [path.join(root, 'scripts/stack.sh'), 'up'],
      { ...env, MODE: 'uws', GRAFANA: 'yes' },
      root,
    );
    assert.equal(badG.code, 2, badG.stderr);
    assert.match(badG.stderr, /invalid GRAFANA "yes"/);
  }
  assert.notEqual(passwords[0], passwords[1], 'each .env gets its own password');
});

test('Dockerfiles: pinned Node base as a build argument, multi-stage, own workspace deps only, non-root, healthcheck', () => {
  for (const [file, workspace] of [
    ['server/Dockerfile', 'server'],
    ['client-bench/Dockerfile', 'client-bench'],
  ] as const) {
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    assert.match(text, /^ARG NODE_VERSION=24\.\d+\.\d+$/m, `${file}: pinned Node 24`);
    assert.match(
      text,
      /^ARG NODE_IMAGE=node:\$\{NODE_VERSION\}-trixie-slim$/m,
      `${file}: official Debian 13 base as NODE_IMAGE`,
    );
    assert.equal(
      text.match(/^FROM \$\{NODE_IMAGE\}/gm)?.length,
      3,
      `${file}: build, deps and runtime stages`,
    );
    assert.match(text, /RUN npm ci --no-audit/, `${file}: build stage installs from the lockfile`);
    assert.match(
      text,
      new RegExp(`npm ci --omit=dev --workspace ${workspace}\\b`),
      `${file}: runtime deps of ${workspace} only`,
    );
    assert.match(text, /^USER node$/m, `${file}: non-root`);
    assert.match(text, /^HEALTHCHECK /m, `${file}: healthcheck`);
  }
});
