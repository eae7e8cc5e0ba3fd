#!/usr/bin/env bash
# A private, throwaway PostgreSQL for tests (never the system cluster).
#   eval "$(scripts/pg-test.sh start)"   exports PGTEST_DIR and ADW_TEST_DATABASE_URL
#   scripts/pg-test.sh stop              stops it and removes its directory
set -euo pipefail
PGBIN=${ADW_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); else AS=(); fi
case "${1:-}" in
start)
  dir=$(mktemp -d /tmp/pgtest.XXXXXX)   # short: the socket path must fit in 107 bytes
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  chmod 755 "$dir"
  cd /
  "${AS[@]}" "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
CONF
  "${AS[@]}" "$PGBIN/pg_ctl" -s -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2 \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "export PGTEST_DIR='$dir'"
  echo "export ADW_TEST_DATABASE_URL='host=$dir port=5432 user=postgres dbname=postgres'"
  ;;
stop)
  dir=${PGTEST_DIR:?PGTEST_DIR not set}
  cd /
  "${AS[@]}" "$PGBIN/pg_ctl" -s -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2;;
esac
