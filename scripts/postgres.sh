#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and benchmarks, on a loopback
# port, owned by an unprivileged user (PostgreSQL refuses to run as root).
#
#   eval "$(scripts/postgres.sh start)"   # prints export lines: DATSYNC_TEST_POSTGRES_URL, DATSYNC_TEST_POSTGRES_DIR
#   npm test                              # the PostgreSQL tests find the cluster through the URL
#   scripts/postgres.sh stop              # stops it and deletes its directory
#
# Needs Debian's postgresql package (apt-get install postgresql). As root it
# runs the cluster as the user datsync-pg (created if missing); otherwise as
# the current user. PORT picks the port (default: the first free one from 54320).
set -euo pipefail

bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    echo "postgres.sh: no PostgreSQL server binaries under /usr/lib/postgresql: apt-get install postgresql" >&2
    exit 1
  fi
  echo "$dir"
}

free_port() {
  local port="${PORT:-54320}"
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u datsync-pg -- "$@"; else "$@"; fi
}

start() {
  local bin dir port
  bin="$(bindir)"
  if [ "$(id -u)" -eq 0 ] && ! id datsync-pg >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin datsync-pg
  fi
  dir="$(mktemp -d /tmp/datsync-pg.XXXXXX)"
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown datsync-pg "$dir"
  port="$(free_port)"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    exit 1
  }
  # Loopback only; the socket in the cluster's own directory (no /var/run/postgresql needed).
  # The port can be taken between the probe and the start (another run starting a cluster), or
  # held by a closing connection the probe does not see: then the next free one is tried.
  local tries=0
  until as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 20 ] || ! grep -q 'Address already in use' "$dir/server.log"; then
      cat "$dir/server.log" >&2
      rm -rf "$dir"
      exit 1
    fi
    : >"$dir/server.log"
    PORT=$((port + 1))
    port="$(free_port)"
  done
  echo "export DATSYNC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
  echo "export DATSYNC_TEST_POSTGRES_DIR=$dir"
}

stop() {
  local dir="${1:-${DATSYNC_TEST_POSTGRES_DIR:-}}"
  if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
    echo "postgres.sh: no cluster to stop (pass its directory, or set DATSYNC_TEST_POSTGRES_DIR)" >&2
    exit 1
  fi
  as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *)
    echo "usage: scripts/postgres.sh start | stop [DIR]" >&2
    exit 2
    ;;
esac
