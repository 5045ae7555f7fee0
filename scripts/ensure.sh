#!/usr/bin/env bash
# Installs what `npm start` / `npm test` need and is missing: npm packages,
# ffmpeg + ffprobe, (with --need-redis-server) redis-server and (with
# --need-chromium, for the browser playback test) Debian's chromium, (with
# --need-nginx, for the edge cache test) nginx and (with --need-wrk, for the
# benchmarks) wrk. Quick when
# nothing is missing: only file dates and PATH are checked then.
# Everything goes to stderr: `npm run cli` prints JSON on stdout after this.
#
#   scripts/ensure.sh [--quiet] [--need-redis-server] [--need-chromium] [--need-nginx] [--need-wrk] [--need-gateways]
#
# --need-gateways: nginx with its RTMP module (the RTMP ingest) and its
# stream module (RTMPS: TLS ended in the same nginx); Debian's ffmpeg already
# has libsrt (the SRT ingest), RTMP and RTMPS; and openssl, with which the
# RTMPS tests make their certificate.
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=0
need_redis=0
need_chromium=0
need_nginx=0
need_wrk=0
need_gateways=0
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    --need-redis-server) need_redis=1 ;;
    --need-chromium) need_chromium=1 ;;
    --need-nginx) need_nginx=1 ;;
    --need-wrk) need_wrk=1 ;;
    --need-gateways) need_gateways=1 ;;
    *) echo "ensure.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { echo "ensure: $*" >&2; }

node_major="$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)"
if [ -z "$node_major" ] || [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is needed (found ${node_major:-none}): install it from https://nodejs.org or with nvm"
  exit 1
fi

# npm records what it installed in node_modules/.package-lock.json. The
# dependencies are current when every package installed has the lockfile's
# version and every package of the lockfile not installed is an optional one
# (another platform's binary). Otherwise `npm ci` installs exactly the
# lockfile, which lists every platform's optional packages, so installing
# never rewrites the tracked package-lock.json.
deps_current() {
  node -e '
    const fs = require("fs");
    const read = (f) => JSON.parse(fs.readFileSync(f, "utf8")).packages || {};
    let lock, installed;
    try { lock = read("package-lock.json"); installed = read("node_modules/.package-lock.json"); } catch { process.exit(1); }
    for (const [key, pkg] of Object.entries(installed)) if (!lock[key] || lock[key].version !== pkg.version) process.exit(1);
    for (const [key, pkg] of Object.entries(lock)) if (key && !installed[key] && !pkg.optional) process.exit(1);
    const want = JSON.parse(fs.readFileSync("package.json", "utf8"));
    const root = lock[""] || {};
    for (const field of ["dependencies", "devDependencies"])
      for (const [name, range] of Object.entries(want[field] || {})) if ((root[field] || {})[name] !== range) process.exit(1);
  ' 2>/dev/null
}
if ! deps_current; then
  if [ -L node_modules ]; then
    say "node_modules links to another checkout's packages and differs from package-lock.json: remove the link and run again"
    exit 1
  fi
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
if [ "$need_redis" = 1 ]; then
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
fi
if [ "$need_chromium" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
if [ "$need_nginx" = 1 ]; then
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
fi
if [ "$need_wrk" = 1 ]; then
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
fi

if [ "$need_gateways" = 1 ]; then
  { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || missing+=(nginx)
  [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing+=(libnginx-mod-rtmp)
  [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
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
