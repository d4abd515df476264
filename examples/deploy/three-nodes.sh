#!/usr/bin/env bash
# Three datsync nodes on one PostgreSQL log, behind nginx on 127.0.0.1:8080
# (docs/deploy.md). Clients connect to ws://127.0.0.1:8080/sync.
#
#   eval "$(scripts/postgres.sh start)"                   # or any PostgreSQL you run
#   export DATSYNC_POSTGRES_URL="$DATSYNC_TEST_POSTGRES_URL"
#   npm run build && examples/deploy/three-nodes.sh
#
# Ctrl-C stops the nodes and nginx.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DATSYNC_POSTGRES_URL:?set DATSYNC_POSTGRES_URL to the log's database, e.g. postgres://datsync:secret@db:5432/app}"
[ -f dist/src/cli.js ] || { echo "three-nodes.sh: run npm run build first" >&2; exit 1; }
pids=()
stop() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM
for port in 8081 8082 8083; do
  # Development permissions; a real app passes --config (every node the same file, and the same DATSYNC_TOKEN_SECRET).
  node dist/src/cli.js serve --postgres "$DATSYNC_POSTGRES_URL" --port "$port" \
    --schema examples/tasks/schema.json --allow-all --data "data/node-$port" &
  pids+=("$!")
done
nginx -p "$(mktemp -d)" -c "$PWD/examples/deploy/nginx.conf" -g 'daemon off;' &
pids+=("$!")
wait -n
