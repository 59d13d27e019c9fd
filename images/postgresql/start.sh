#!/bin/sh
# Entrypoint of cogniverse/postgresql (images/postgresql/build.sh): create the cluster in PGDATA on the
# first start, then run postgres in the foreground as the container's user. Arguments are passed to postgres.
# The cluster: scram-sha-256 for every TCP client; the superuser `postgres` has no password and may log in
# only through the container's own socket (/tmp, trust: whoever can exec into the pod owns it anyway); the
# application's role POSTGRES_USER (password from POSTGRES_PASSWORD_FILE, else POSTGRES_PASSWORD) is no
# superuser and owns the database POSTGRES_DB, so a client holding its password cannot reach the server's
# files or programs (COPY ... TO PROGRAM, pg_read_server_files).
set -eu

: "${PGDATA:?PGDATA is not set}"
user=${POSTGRES_USER:-}
db=${POSTGRES_DB:-$user}
case "$user" in
  "") echo "start-postgresql: set POSTGRES_USER (the application's role, no superuser)" >&2; exit 2 ;;
  postgres) echo "start-postgresql: POSTGRES_USER must not be postgres (the server's superuser, which no client logs in as)" >&2; exit 2 ;;
esac
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
  initdb --pgdata="$PGDATA" --username=postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "host all all ::/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  postgres -D "$PGDATA" -c listen_addresses='' -c unix_socket_directories=/tmp &
  pid=$!
  until pg_isready -q -h /tmp; do sleep 0.2; done
  # The password reaches psql from its file (a psql backquote), never a command line; names and password
  # are quoted by psql (:"name", :'value').
  psql -h /tmp -U postgres -d postgres --no-psqlrc -q -v ON_ERROR_STOP=1 -v user="$user" -v db="$db" <<SQL
\\set pw \`cat '$pwfile'\`
CREATE ROLE :"user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"user";
SQL
  kill "$pid"
  wait "$pid" || true
fi
[ "$pwfile" = "${POSTGRES_PASSWORD_FILE:-}" ] || rm -f "$pwfile"
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
