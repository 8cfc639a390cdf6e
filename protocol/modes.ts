// The server mode names: the one list every program validates against (server --mode, the bench
// scripts' MODE/MODES, compose profiles). What each mode is: docs/server.md.
export const MODE_NAMES = ['ws-naive', 'ws', 'uws'] as const;
export type ModeName = (typeof MODE_NAMES)[number];

export function isModeName(v: string): v is ModeName {
  return (MODE_NAMES as readonly string[]).includes(v);
}
