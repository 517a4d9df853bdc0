// The `ws` package, loaded on first use: by the first WebSocket upgrade the daemon serves, or the CLI's
// first connection. A daemon that only serves stdio or HTTP never loads it (issue 21: startup, RSS).
type Ws = typeof import('ws');

let ws: Ws | undefined;

/** ws's CommonJS export, which carries WebSocket and WebSocketServer. */
export function wsModule(): Ws {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load: esbuild bundles it and runs it here
  ws ??= require('ws') as Ws;
  return ws;
}
