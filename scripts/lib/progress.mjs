// Progress on stderr: one line per phase with what it does and how long is left (of the phase and
// of the whole job). On an interactive terminal outside CI the current line also counts down;
// in CI or when stderr is not a TTY only the phase lines are printed.
import { seconds } from './format.mjs';

const interactive = Boolean(process.stderr.isTTY) && !process.env.CI;

export class Progress {
  /**
   * prefix: e.g. "bench uws"; totalSec: the job's planned length, so "time left" can be shown;
   * out: where lines go (stderr).
   */
  constructor(prefix, totalSec = null, out = process.stderr) {
    this.prefix = prefix;
    this.totalSec = totalSec;
    this.out = out;
    this.startedAt = performance.now();
    this.timer = null;
    this.phaseName = null;
  }

  elapsedSec() {
    return (performance.now() - this.startedAt) / 1000;
  }

  leftText() {
    if (!this.totalSec) return '';
    return ` · ~${seconds(Math.max(0, this.totalSec - this.elapsedSec()))} left in total`;
  }

  /** Starts a phase; `sec` is its planned length (null when open-ended). */
  phase(name, what, sec = null) {
    this.endLine();
    this.phaseName = name;
    const phaseStart = performance.now();
    const len = sec === null ? '' : ` (${seconds(sec)})`;
    this.out.write(`[${this.prefix}] ${name}: ${what}${len}${this.leftText()}\n`);
    if (interactive && sec) {
      this.timer = setInterval(() => {
        const left = sec - (performance.now() - phaseStart) / 1000;
        this.out.write(`\r\x1b[K  ${name}: ${seconds(Math.max(0, left))} left${this.leftText()}`);
      }, 1000);
      this.timer.unref();
    }
  }

  /** A line of information (not a phase). */
  note(text) {
    this.endLine();
    this.out.write(`[${this.prefix}] ${text}\n`);
  }

  endLine() {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.out.write('\r\x1b[K');
    }
  }
}
