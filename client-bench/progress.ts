// Once per second on stderr: connected, msg/s, MB/s, p99, gaps, client CPU. On a TTY one line
// is rewritten in place; otherwise each second is its own line (logs stay readable).
import { SLOT, workerSlots } from './layout.js';

export class Progress {
  private readonly slots: Float64Array[];
  private lastReceived = 0;
  private lastBytes = 0;
  private lastAt = performance.now();
  private lastCpu = process.cpuUsage();
  private lastCores = 0;
  private wroteTtyLine = false;

  constructor(
    sab: SharedArrayBuffer,
    workers: number,
    private readonly clients: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {
    this.slots = Array.from({ length: workers }, (_, i) => workerSlots(sab, i));
  }

  /** CPU of this process (all threads) since the last sample, in cores. */
  cpuCores(): number {
    return this.lastCores;
  }

  private total(slot: number): number {
    let s = 0;
    for (const w of this.slots) s += w[slot] ?? 0;
    return s;
  }

  /** Samples the counters; prints one progress line unless disabled. */
  tick(phase: string): void {
    const now = performance.now();
    const sec = Math.max(1e-3, (now - this.lastAt) / 1000);
    const cpu = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    this.lastCores = (cpu.user + cpu.system) / 1e6 / sec;
    const received = this.total(SLOT.received);
    const bytes = this.total(SLOT.bytes);
    const rate = (received - this.lastReceived) / sec;
    const mbps = (bytes - this.lastBytes) / sec / 1e6;
    this.lastReceived = received;
    this.lastBytes = bytes;
    this.lastAt = now;
    if (!this.enabled) return;
    let p99 = 0;
    let busy = 0;
    for (const w of this.slots) {
      p99 = Math.max(p99, w[SLOT.intervalP99Us] ?? 0);
      busy = Math.max(busy, w[SLOT.busy] ?? 0);
    }
    const line =
      `[${phase}] connected ${this.total(SLOT.open)}/${this.clients}` +
      `  msg/s ${Math.round(rate).toLocaleString('en-US')}  MB/s ${mbps.toFixed(1)}` +
      `  p99 ${(p99 / 1000).toFixed(2)} ms  gaps ${this.total(SLOT.gaps)}` +
      `  cpu ${this.lastCores.toFixed(2)} cores (busiest worker ${Math.round(busy * 100)}%)`;
    if (this.out.isTTY) {
      this.out.write('\r\x1b[2K' + line);
      this.wroteTtyLine = true;
    } else {
      this.out.write(line + '\n');
    }
  }

  /** Ends the updating TTY line so the summary starts on a fresh line. */
  done(): void {
    if (this.wroteTtyLine) this.out.write('\n');
    this.wroteTtyLine = false;
  }
}
