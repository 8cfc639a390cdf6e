// Progress on stderr: one line per phase with what it does and how long is left (of the phase and
// of the whole job). On an interactive terminal outside CI the current line also counts down;
// in CI or when stderr is not a TTY only the phase lines are printed.
import { seconds } from './format.js';

const interactive = process.stderr.isTTY && process.env.CI === undefined;

export class Progress {
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | null = null;

  /** prefix: e.g. "bench uws"; totalSec: the job's planned length, so "time left" can be shown. */
  constructor(
    readonly prefix: string,
    readonly totalSec: number | null = null,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  elapsedSec(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  private leftText(): string {
    if (this.totalSec === null || this.totalSec === 0) return '';
    return ` · ~${seconds(Math.max(0, this.totalSec - this.elapsedSec()))} left in total`;
  }

  /** Starts a phase; `sec` is its planned length (null when open-ended). */
  phase(name: string, what: string, sec: number | null = null): void {
    this.endLine();
    const phaseStart = performance.now();
    const len = sec === null ? '' : ` (${seconds(sec)})`;
    this.out.write(`[${this.prefix}] ${name}: ${what}${len}${this.leftText()}\n`);
    if (interactive && sec !== null && sec > 0) {
      this.timer = setInterval(() => {
        const left = sec - (performance.now() - phaseStart) / 1000;
        this.out.write(`\r\x1b[K  ${name}: ${seconds(Math.max(0, left))} left${this.leftText()}`);
      }, 1000);
      this.timer.unref();
    }
  }

  /** A line of information (not a phase). */
  note(text: string): void {
    this.endLine();
    this.out.write(`[${this.prefix}] ${text}\n`);
  }

  endLine(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.out.write('\r\x1b[K');
    }
  }
}
