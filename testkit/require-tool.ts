// Tests that need a system tool skip when it is missing, unless WSBENCH_REQUIRE_ALL=1 (set by
// .ci/run), where a missing tool is a failure: CI must never go green by skipping.
import type { TestContext } from 'node:test';
import { which } from '../scripts/lib/proc.js';

/** The one PATH lookup (scripts/lib/proc.ts). */
export { which };

export const requireAll = process.env.WSBENCH_REQUIRE_ALL === '1';

/**
 * Returns the tool's path, or null after marking the test skipped. With WSBENCH_REQUIRE_ALL=1 a
 * missing tool throws, so the test fails. Usage:
 *   const prom = requireTool(t, 'prometheus'); if (!prom) return;
 */
export function requireTool(t: TestContext, tool: string, hint = 'make deps'): string | null {
  const path = which(tool);
  if (path !== null) return path;
  const msg = `${tool} not found on PATH (install it with: ${hint})`;
  if (requireAll) throw new Error(`${msg}; WSBENCH_REQUIRE_ALL=1 turns this skip into a failure`);
  t.skip(msg);
  return null;
}
