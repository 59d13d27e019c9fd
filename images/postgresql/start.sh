#!/bin/sh
# Entrypoint of cogniverse/postgresql (images/postgresql/build.sh): create the cluster in PGDATA on the
# first start (scram-sha-256 for every TCP client, the superuser POSTGRES_USER with the password from
# POSTGRES_PASSWORD_FILE, else POSTGRES_PASSWORD; the database POSTGRES_DB), then run postgres in the
# foreground as the container's user. Arguments are passed to postgres.
set -eu

: "${PGDATA:?PGDATA is not set}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  pwfile=$POSTGRES_PASSWORD_FILE
  # initdb keeps the first line only; Phoenix sends the Secret's value whole, line break included.
  if [ "$(wc -l <"$pwfile")" -ne 0 ]; then
    echo "start-postgresql: the password in $pwfile holds a line break (a Secret made from a file that ends in a newline?): Phoenix would send it and never log in; make the Secret without one (kubectl create secret generic NAME --from-literal=password=...)" >&2
    exit 2
  fi
elif [ -n "${POSTGRES_PASSWORD:-}" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
else
  echo "start-postgresql: set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD (the superuser's password)" >&2
  exit 2
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --auth-local=scram-sha-256 \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "host all all ::/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  postgres -D "$PGDATA" -c listen_addresses='' -c unix_socket_directories=/tmp &
  pid=$!
  until pg_isready -q -h /tmp; do sleep 0.2; done
  if [ "$db" != postgres ]; then
    # The password in createdb's environment only (a .pgpass line would need ':' and '\' escaped).
    PGPASSWORD=$(head -n 1 "$pwfile") createdb -h /tmp -U "$user" "$db"
  fi
  kill "$pid"
  wait "$pid" || true
fi
[ "$pwfile" = "${POSTGRES_PASSWORD_FILE:-}" ] || rm -f "$pwfile"
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
