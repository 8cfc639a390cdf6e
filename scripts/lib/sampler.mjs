// Samples a process's CPU time and RSS from /proc/<pid>/stat and /proc/<pid>/status (all its
// threads: client workers included). CPU in cores = Δ(utime+stime) / CLK_TCK / Δwall.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clkTck = null;
function ticksPerSecond() {
  if (clkTck === null) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** One reading: { t (ms, monotonic), cpuSec, rssBytes } or null when the process is gone. */
export function readProc(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm)": state is field 3, utime 14, stime 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSec = (Number(f[11]) + Number(f[12])) / ticksPerSecond();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
    return { t: performance.now(), cpuSec, rssBytes: rssKb * 1024 };
  } catch {
    return null;
  }
}

export class ProcSampler {
  constructor(pid, intervalMs = 250) {
    this.pid = pid;
    this.intervalMs = intervalMs;
    this.readings = [];
    this.timer = null;
  }

  start() {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sample() {
    const r = readProc(this.pid);
    if (r) this.readings.push(r);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  /**
   * Figures for the window [fromMs, toMs] (performance.now() times): average CPU in cores, max
   * RSS, and a series [secondsIntoWindow, cpuCores, rssBytes] for charts.
   */
  window(fromMs, toMs) {
    const inside = this.readings.filter(
      (r) => r.t >= fromMs - this.intervalMs / 2 && r.t <= toMs + this.intervalMs / 2,
    );
    if (inside.length < 2)
      return { cpuCores: null, rssMaxBytes: inside[0]?.rssBytes ?? null, samples: [] };
    const first = inside[0];
    const last = inside[inside.length - 1];
    const samples = [];
    for (let i = 1; i < inside.length; i++) {
      const a = inside[i - 1];
      const b = inside[i];
      const dt = (b.t - a.t) / 1000;
      samples.push([
        round((b.t - fromMs) / 1000, 3),
        round(dt > 0 ? (b.cpuSec - a.cpuSec) / dt : 0, 3),
        b.rssBytes,
      ]);
    }
    return {
      cpuCores: round((last.cpuSec - first.cpuSec) / ((last.t - first.t) / 1000), 3),
      rssMaxBytes: Math.max(...inside.map((r) => r.rssBytes)),
      samples,
    };
  }
}

function round(n, digits) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
