// The live heap: V8's old generation (every space but the young one) right after each major
// (mark-compact) GC. heapUsed rises and falls with garbage between collections and RSS also holds
// what V8 and the allocator keep committed; the old generation after a full collection is what
// survived it, so a growing series of it is retained memory (a leak) and a flat one is not.
// One PerformanceObserver on 'gc' entries: nothing runs but per GC.
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Bytes used in the old generation now (old, code, large-object and the other non-young spaces). */
export function oldGenerationUsed(): number {
  let n = 0;
  for (const s of v8.getHeapSpaceStatistics())
    if (s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space')
      n += s.space_used_size;
  return n;
}

export class LiveHeap {
  /** the old generation after the last major GC; before the first, at start-up (an upper bound) */
  bytes = oldGenerationUsed();
  majorGcs = 0;
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      let major = false;
      for (const e of list.getEntries()) {
        const kind = (e as PerformanceEntry & { detail?: { kind?: number } | null }).detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
          major = true;
          this.majorGcs++;
        }
      }
      // delivered just after the GC: only promotions by a scavenge since then could add to it
      if (major) this.bytes = oldGenerationUsed();
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer.disconnect();
  }
}
