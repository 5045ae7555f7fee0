#!/usr/bin/env bash
# `npm test`: install what is missing, find a Redis for the tests (or run a
# throwaway one), make the fixtures, type-check, then run vitest.
# Arguments go to vitest: `npm test -- test/unit`.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the browser test plays clips in hls.js and a <video> element;
# redis-server: the cluster test starts a throwaway Redis Cluster;
# nginx: the edge cache test runs the deploy/ config in front of the service;
# gateways: nginx's RTMP and stream modules for the RTMP(S) ingest tests.
bash scripts/ensure.sh --quiet --need-chromium --need-redis-server --need-nginx --need-gateways

# True when a Redis answers PING on 127.0.0.1:$1. Without redis-cli, bash's
# /dev/tcp speaks the one-line protocol well enough.
redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
  else
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'PING\r\n' >&3 && read -r reply <&3 && [[ \$reply == +PONG* ]]" 2>/dev/null
  fi
}

if [ -z "${TEST_REDIS_URL:-}" ]; then
  if redis_answers 6379; then
    TEST_REDIS_URL=redis://127.0.0.1:6379
  else
    bash scripts/ensure.sh --quiet --need-redis-server
    port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
    redis_dir="$(mktemp -d)"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
      --dir "$redis_dir" --logfile "$redis_dir/redis.log" &
    redis_pid=$!
    trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$redis_dir"' EXIT
    for _ in $(seq 1 100); do
      redis_answers "$port" && break
      kill -0 "$redis_pid" 2>/dev/null || { cat "$redis_dir/redis.log" >&2; exit 1; }
      sleep 0.1
    done
    redis_answers "$port" || { echo "test: the throwaway redis-server did not answer" >&2; exit 1; }
    echo "test: no Redis on 127.0.0.1:6379, using a throwaway redis-server on port $port" >&2
    TEST_REDIS_URL="redis://127.0.0.1:$port"
  fi
fi
export TEST_REDIS_URL

node --import tsx fixtures/make.ts
node_modules/.bin/tsc --noEmit -p .

# Not exec: the EXIT trap must still stop the throwaway Redis.
status=0
node_modules/.bin/vitest run "$@" || status=$?
exit "$status"
