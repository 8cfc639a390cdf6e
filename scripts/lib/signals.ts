// Ctrl-C for the orchestrators: the first SIGINT/SIGTERM aborts the controller (the run stops
// its processes in order and keeps what was measured); later ones are ignored while it does.
export function abortOnSignals(onFirst: (sig: NodeJS.Signals) => void): AbortController {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) return;
      onFirst(sig);
      controller.abort();
    });
  }
  return controller;
}
