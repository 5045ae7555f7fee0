#!/usr/bin/env bash
# Installs what `npm start` / `npm test` need and is missing: npm packages,
# ffmpeg + ffprobe, (with --need-redis-server) redis-server and (with
# --need-chromium, for the browser playback test) Debian's chromium. Quick when
# nothing is missing: only file dates and PATH are checked then.
# Everything goes to stderr: `npm run cli` prints JSON on stdout after this.
#
#   scripts/ensure.sh [--quiet] [--need-redis-server] [--need-chromium]
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=0
need_redis=0
need_chromium=0
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    --need-redis-server) need_redis=1 ;;
    --need-chromium) need_chromium=1 ;;
    *) echo "ensure.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { echo "ensure: $*" >&2; }

node_major="$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)"
if [ -z "$node_major" ] || [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is needed (found ${node_major:-none}): install it from https://nodejs.org or with nvm"
  exit 1
fi

# npm records what it installed in node_modules/.package-lock.json; a lockfile
# newer than that record means the dependencies changed since.
# `npm install`, not `npm ci`: it installs the lockfile's versions all the
# same, and npm 11 refuses `npm ci` on lockfiles that lack other platforms'
# optional packages (which it writes itself, depending on its settings).
installed=node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ package.json -nt "$installed" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$installed" ]; }; then
  say "installing npm dependencies (npm install)"
  npm install --no-audit --no-fund >&2
  touch "$installed"
fi

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
if [ "$need_redis" = 1 ]; then
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
fi
if [ "$need_chromium" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  [ "$quiet" = 1 ] || say "npm dependencies, ffmpeg$([ "$need_redis" = 1 ] && echo ', redis-server') present"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  [ "${#missing[@]}" -eq 1 ] && what="${missing[0]} is" || what="${missing[*]} are"
  say "$what missing: install with \`sudo apt-get install ${missing[*]}\` (or your system's package manager)"
  exit 1
fi

say "installing ${missing[*]} with apt-get (once; this takes a minute)"
log="$(mktemp)"
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  rm -f "$log"
  say "apt-get could not install ${missing[*]}: install it by hand with \`apt-get install ${missing[*]}\`"
  exit 1
fi
rm -f "$log"
say "installed ${missing[*]}"
