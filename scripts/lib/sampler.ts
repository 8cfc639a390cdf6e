// CPU and memory from /proc: per process (/proc/<pid>/stat utime+stime of all its threads, and
// VmRSS) and machine-wide (/proc/stat: user, system, softirq, idle of all CPUs). CPU in cores =
// Δ ticks / CLK_TCK / Δ wall seconds. System and softirq time are what the verdict reads as
// "kernel/network": ticks late while neither process is busy in user space.
import { readFileSync } from 'node:fs';
import { round } from './format.js';

/** Linux's USER_HZ; getconf CLK_TCK is 100 on every Linux platform Node runs on. */
const CLK_TCK = 100;

export interface ProcReading {
  /** performance.now() of the reading */
  t: number;
  cpuSec: number;
  sysSec: number;
  rssBytes: number;
}

/** One reading of a process, or null when it is gone. */
export function readProc(pid: number): ProcReading | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm)": state is field 3, utime 14, stime 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
    return {
      t: performance.now(),
      cpuSec: (utime + stime) / CLK_TCK,
      sysSec: stime / CLK_TCK,
      rssBytes: rssKb * 1024,
    };
  } catch {
    return null;
  }
}

/** CPU and RSS of one process over a window. samples: [secondsIntoWindow, cpuCores, rssBytes]. */
export interface Usage {
  cpuCores: number | null;
  /** Of cpuCores, the part spent in the kernel (stime). */
  sysCores?: number | null;
  rssMaxBytes: number | null;
  samples: [number, number, number][];
}

export const NO_USAGE: Usage = { cpuCores: null, sysCores: null, rssMaxBytes: null, samples: [] };

/** Samples one process every `intervalMs` until stop(). */
export class ProcSampler {
  private readonly readings: ProcReading[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly pid: number,
    readonly intervalMs = 250,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => {
      this.sample();
    }, this.intervalMs);
    this.timer.unref();
    return this;
  }

  private sample(): void {
    const r = readProc(this.pid);
    if (r !== null) this.readings.push(r);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  /** Figures for the window [fromMs, toMs] (performance.now() times). */
  window(fromMs: number, toMs: number): Usage {
    const slack = this.intervalMs / 2;
    const inside = this.readings.filter((r) => r.t >= fromMs - slack && r.t <= toMs + slack);
    const first = inside[0];
    const last = inside[inside.length - 1];
    if (first === undefined || last === undefined || inside.length < 2)
      return { ...NO_USAGE, rssMaxBytes: first?.rssBytes ?? null };
    const samples: [number, number, number][] = [];
    for (let i = 1; i < inside.length; i++) {
      const a = inside[i - 1];
      const b = inside[i];
      if (a === undefined || b === undefined) continue;
      const dt = (b.t - a.t) / 1000;
      samples.push([
        round((b.t - fromMs) / 1000),
        round(dt > 0 ? (b.cpuSec - a.cpuSec) / dt : 0),
        b.rssBytes,
      ]);
    }
    const sec = (last.t - first.t) / 1000;
    return {
      cpuCores: round((last.cpuSec - first.cpuSec) / sec),
      sysCores: round((last.sysSec - first.sysSec) / sec),
      rssMaxBytes: Math.max(...inside.map((r) => r.rssBytes)),
      samples,
    };
  }
}

interface MachineReading {
  t: number;
  /** seconds summed over all CPUs */
  user: number;
  system: number;
  softirq: number;
  idle: number;
  /** per CPU: [busy seconds, all seconds, irq + softirq seconds] */
  cores: Map<string, [number, number, number]>;
}

function readMachine(): MachineReading | null {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    // cpu  user nice system idle iowait irq softirq steal ...
    const fields = (line: string): number[] => line.trim().split(/\s+/).slice(1).map(Number);
    const f = fields(lines[0] ?? '');
    const at = (i: number): number => (f[i] ?? 0) / CLK_TCK;
    const cores = new Map<string, [number, number, number]>();
    for (const line of lines) {
      const m = /^cpu(\d+)\s/.exec(line);
      if (m?.[1] === undefined) continue;
      const c = fields(line).map((v) => v / CLK_TCK);
      const all = c.slice(0, 8).reduce((a, b) => a + b, 0);
      const idle = (c[3] ?? 0) + (c[4] ?? 0);
      cores.set(m[1], [all - idle, all, (c[5] ?? 0) + (c[6] ?? 0)]);
    }
    return {
      t: performance.now(),
      user: at(0) + at(1),
      system: at(2) + at(5),
      softirq: at(6),
      idle: at(3) + at(4),
      cores,
    };
  } catch {
    return null;
  }
}

/** Machine-wide CPU over a window, in cores (summed over CPUs). */
export interface MachineUsage {
  cpus: number;
  userCores: number | null;
  systemCores: number | null;
  softirqCores: number | null;
  idleCores: number | null;
  /** per CPU number: the busy fraction (0-1) over the window, every process included */
  coreBusy?: Record<string, number>;
  /**
   * per CPU number: the fraction (0-1) spent in irq + softirq, which no process is charged for
   * (on loopback the receive path of what a process sends runs on the sender's core)
   */
  coreSoftirq?: Record<string, number>;
}

/** Reads /proc/stat at start and at the window's ends. */
export class MachineSampler {
  private readonly readings: MachineReading[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly cpus: number,
    readonly intervalMs = 500,
  ) {}

  start(): this {
    const take = (): void => {
      const r = readMachine();
      if (r !== null) this.readings.push(r);
    };
    take();
    this.timer = setInterval(take, this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const r = readMachine();
    if (r !== null) this.readings.push(r);
  }

  window(fromMs: number, toMs: number): MachineUsage {
    const slack = this.intervalMs / 2;
    const inside = this.readings.filter((r) => r.t >= fromMs - slack && r.t <= toMs + slack);
    const a = inside[0];
    const b = inside[inside.length - 1];
    const empty = {
      cpus: this.cpus,
      userCores: null,
      systemCores: null,
      softirqCores: null,
      idleCores: null,
    };
    if (a === undefined || b === undefined || b.t - a.t <= 0) return empty;
    const sec = (b.t - a.t) / 1000;
    const coreBusy: Record<string, number> = {};
    const coreSoftirq: Record<string, number> = {};
    for (const [cpu, [busy1, all1, irq1]] of b.cores) {
      const [busy0, all0, irq0] = a.cores.get(cpu) ?? [0, 0, 0];
      if (all1 <= all0) continue;
      coreBusy[cpu] = round((busy1 - busy0) / (all1 - all0));
      coreSoftirq[cpu] = round((irq1 - irq0) / (all1 - all0));
    }
    return {
      cpus: this.cpus,
      coreBusy,
      coreSoftirq,
      userCores: round((b.user - a.user) / sec),
      systemCores: round((b.system - a.system) / sec),
      softirqCores: round((b.softirq - a.softirq) / sec),
      idleCores: round((b.idle - a.idle) / sec),
    };
  }
}
