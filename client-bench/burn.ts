// --burn-ns: an artificially slow client, so that the bench's "client saturated" verdict can be
// tested. Each tick frame spins a calibrated loop of about N ns (a loop, not a clock read per
// frame: hrtime costs more than a small N).
let sink = 0;

/** Runs `iterations` rounds of an integer recurrence the compiler cannot drop. */
export function spin(iterations: number): void {
  let x = sink;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  sink = x;
}

/** Iterations of spin() that take about `ns` nanoseconds on this thread (0 for 0). */
export function calibrate(ns: number): number {
  if (ns <= 0) return 0;
  const rounds = 2_000_000;
  spin(rounds); // compile it first
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    spin(rounds);
    best = Math.min(best, Number(process.hrtime.bigint() - t0));
  }
  return Math.max(1, Math.round((ns * rounds) / Math.max(1, best)));
}
