#!/usr/bin/env bash
# `npm start`: install what is missing, then run the service (role from ROLE).
# With no REDIS_URL the service runs its own redis-server, so that must be here.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${REDIS_URL:-}" ]; then
  bash scripts/ensure.sh --quiet --need-redis-server --need-gateways
else
  bash scripts/ensure.sh --quiet --need-gateways
fi

# tsx as a node loader, not `npx tsx`: npx and the tsx CLI each add a process,
# and a SIGTERM sent to npx never reaches the service (it is left orphaned).
exec node --import tsx src/main.ts "$@"
