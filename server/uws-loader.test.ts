// uws-loader: the first installed uWS package whose native binary loads is used; the JS fallback
// shim is refused; /health says which package and Node ran. Real packages, real server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadUws, loadedUws, UWS_PACKAGES } from './uws-loader.js';

const LOADER = fileURLToPath(new URL('./uws-loader.js', import.meta.url));
const KNOWN = ['@btc-vision/uwebsockets.js', '@trufflesuite/uws-js-unofficial'];

describe('uws-loader', () => {
  it('loads a native binary of a known package for this Node ABI', () => {
    const { module, runtime } = loadUws();
    assert.ok(KNOWN.includes(runtime.package), `package ${runtime.package}`);
    assert.match(runtime.version, /^\d+\.\d+\.\d+/);
    assert.equal(
      runtime.binary,
      `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
    );
    assert.equal(typeof (module as { getParts?: unknown }).getParts, 'function', 'native build');
    assert.deepEqual(loadedUws(), {
      package: runtime.package,
      version: runtime.version,
      binary: runtime.binary,
    });
  });

  it('prints its choice as JSON when run on its own', () => {
    const r = spawnSync(process.execPath, [LOADER], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { node: string; uws: { package: string; dir: string } };
    assert.equal(out.node, process.version);
    assert.ok(KNOWN.includes(out.uws.package));
  });

  it('refuses the JS fallback: exit 1 naming every package and why', () => {
    const r = spawnSync(process.execPath, [LOADER], {
      encoding: 'utf8',
      env: { ...process.env, UWS_USE_FALLBACK: '1' },
    });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /native binary is not loaded on Node v\d+/);
    assert.match(r.stderr, /glibc /);
    for (const specifier of UWS_PACKAGES) assert.ok(r.stderr.includes(specifier), specifier);
  });
});

describe('GET /health in uws mode', () => {
  it('reports the Node and the uWS package that ran (runtime.node, runtime.uws)', async (t) => {
    const { startServer } = await import('../testkit/server-harness.js');
    const server = await startServer(['--mode', 'uws']);
    t.after(() => server.stop());
    const health = (await (await fetch(server.url('/health'))).json()) as {
      runtime: { node: string; uws: { package: string; version: string; binary: string } | null };
      versions: { uws: string };
    };
    assert.equal(health.runtime.node, process.version);
    assert.ok(health.runtime.uws, 'runtime.uws is set in uws mode');
    assert.ok(KNOWN.includes(health.runtime.uws.package));
    assert.equal(health.versions.uws, health.runtime.uws.version);
  });
});
