// Tick timestamps are integer microseconds. The default clock is the host's monotonic clock
// (process.hrtime.bigint() is libuv's uv_hrtime, CLOCK_MONOTONIC on Linux): it is shared by every
// process and container on one host and never steps with NTP. It means nothing across hosts, so
// the 'wall' clock (time origin sampled once + monotonic delta) exists for runs across machines;
// server and client must use the same one (WSBENCH_CLOCK=monotonic|wall).
import { performance } from 'node:perf_hooks';

export type ClockKind = 'monotonic' | 'wall';
export const CLOCK_KINDS: readonly ClockKind[] = ['monotonic', 'wall'];

function monotonicUs(): number {
  // Number() of the ns bigint is exact up to ~104 days of uptime; dividing after is cheaper than
  // a bigint division and loses nothing at µs resolution.
  return Math.floor(Number(process.hrtime.bigint()) / 1000);
}

const wallOriginUs = performance.timeOrigin * 1000;
function wallUs(): number {
  return Math.floor(wallOriginUs + performance.now() * 1000);
}

export let nowUs: () => number = monotonicUs;
export let clockKind: ClockKind = 'monotonic';

/** Selects the clock once at start-up; throws on an unknown name. */
export function useClock(kind: string): void {
  if (kind === 'monotonic') nowUs = monotonicUs;
  else if (kind === 'wall') nowUs = wallUs;
  else
    throw new RangeError(`Invalid clock: "${kind}" (expected one of: ${CLOCK_KINDS.join(', ')})`);
  clockKind = kind;
}

/** Reads WSBENCH_CLOCK (default monotonic). */
export function useClockFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  useClock(env.WSBENCH_CLOCK ?? 'monotonic');
}
