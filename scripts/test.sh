#!/usr/bin/env bash
# Run the whole check of Yhteys: setup, throwaway servers, linters, pytest on both backends.
#
#   scripts/test.sh [pytest args...]     e.g. scripts/test.sh -x -k imap
#
# PostgreSQL, Redis and Dovecot (IMAP) are started on free 127.0.0.1 ports with all their
# files under one `mktemp -d`; a trap on EXIT stops them and removes it. The machine's own
# services (5432, 6379, a system dovecot) are never touched. Tests find the servers through
#   YHTEYS_TEST_PG_URL, YHTEYS_TEST_REDIS_URL,
#   YHTEYS_TEST_IMAP_HOST, YHTEYS_TEST_IMAP_PORT, YHTEYS_TEST_IMAP_USER, YHTEYS_TEST_IMAP_PASSWORD,
#   YHTEYS_TEST_IMAPS_PORT (the same Dovecot over implicit TLS) and YHTEYS_TEST_IMAP_CA (the
#   PEM of the throwaway trustme CA that signed its certificate for 127.0.0.1)
# and pytest runs twice: YHTEYS_TEST_BACKEND=postgres, then YHTEYS_TEST_BACKEND=sqlite.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash "$ROOT/scripts/setup.sh"
export PATH="$ROOT/.venv/bin:$PATH"

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
step="starting servers"

# --- cleanup: stop every server we started, then remove the temp dir ------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/yhteys-test.XXXXXX")"
chmod 755 "$TMP"                            # PostgreSQL may run as another user (see below)
PIDS=()                                     # redis-server and dovecot (foreground mode)
PG_DATA=""
PYTEST_PID=""
stop_pid() {                                # TERM, then KILL after 5 s
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    set +e
    if [[ -n $PYTEST_PID ]]; then           # after Ctrl-C, let pytest print its report first
        ((rc != 130)) || for _ in $(seq 30); do kill -0 "$PYTEST_PID" 2>/dev/null && sleep 0.1; done
        stop_pid "$PYTEST_PID"
    fi
    ((${#PIDS[@]})) && kill "${PIDS[@]}" 2>/dev/null   # all stop in parallel (dovecot takes 1 s)
    if [[ -n $PG_DATA ]]; then              # pg_ctl, or else kill the postmaster by its pid file
        as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop &>/dev/null \
            || kill -9 "$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null)" 2>/dev/null
    fi
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    rm -rf "$TMP"
    ((rc == 0)) || log "FAILED during $step (exit $rc) after ${SECONDS}s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait until the server started last (PIDS[-1]) accepts TCP connections on 127.0.0.1:$2;
# $1 names it, $3 is its log. Gives up after 15 s or when the process has died.
wait_port() {
    for _ in $(seq 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
        kill -0 "${PIDS[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 30 "$3" >&2 || true
    die "$1 did not start listening on 127.0.0.1:$2"
}

# Four distinct free loopback ports (all bound at once so they differ).
read -r PG_PORT REDIS_PORT IMAP_PORT IMAPS_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
[[ -n ${IMAPS_PORT:-} ]] || die "could not pick free ports"

# --- PostgreSQL ------------------------------------------------------------------------------
# Postgres refuses to run as root: as root, run it as the `postgres` system user (made by
# Debian's postgresql packages) or else `nobody`, via runuser, from a directory it can enter.
if pg_ctl_path="$(command -v pg_ctl)"; then PGBIN="$(dirname "$(readlink -f "$pg_ctl_path")")"
else PGBIN="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"; fi
[[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] || die "PostgreSQL server binaries not found"
if [[ $(id -u) -eq 0 ]]; then
    PG_OS_USER=postgres; getent passwd postgres >/dev/null || PG_OS_USER=nobody
    as_pg() { (cd "$TMP" && runuser -u "$PG_OS_USER" -- "$@"); }
else
    PG_OS_USER="$(id -un)"; as_pg() { "$@"; }
fi
mkdir -p "$TMP/pg"; chown "$PG_OS_USER" "$TMP/pg"
as_pg "$PGBIN/initdb" -D "$TMP/pg/data" -U yhteys --auth=trust --no-locale -E UTF8 -N \
    >"$TMP/pg-initdb.log" 2>&1 || { cat "$TMP/pg-initdb.log" >&2; die "initdb failed"; }
PG_DATA="$TMP/pg/data"
PG_OPTS="-p $PG_PORT -k $TMP/pg -c listen_addresses=127.0.0.1"  # socket dir: $TMP/pg
PG_OPTS+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$TMP/pg/server.log" -w -t 30 -s -o "$PG_OPTS" start \
    || { tail -n 30 "$TMP/pg/server.log" >&2; die "PostgreSQL did not start"; }
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 30 || die "PostgreSQL not ready"
"$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U yhteys yhteys_test
export YHTEYS_TEST_PG_URL="postgresql+psycopg://yhteys@127.0.0.1:$PG_PORT/yhteys_test"

# --- Redis -----------------------------------------------------------------------------------
mkdir -p "$TMP/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$TMP/redis" >"$TMP/redis/server.log" 2>&1 </dev/null &
PIDS+=($!)
wait_port Redis "$REDIS_PORT" "$TMP/redis/server.log"
export YHTEYS_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

# --- Dovecot (IMAP) --------------------------------------------------------------------------
# Own config, base_dir, state_dir and log under $TMP: independent of any system dovecot.
# As root its helpers run as Debian's dovecot/dovenull users and mail belongs to nobody;
# otherwise everything runs as the current user. It listens in clear on $IMAP_PORT and with
# implicit TLS on $IMAPS_PORT, with a certificate for 127.0.0.1 from a fresh trustme CA.
DOVECOT="$(command -v dovecot || echo /usr/sbin/dovecot)"
[[ -x $DOVECOT ]] || die "dovecot not found (scripts/setup.sh installs dovecot-imapd as root)"
D="$TMP/dovecot"; mkdir -p "$D/state" "$D/home/counsel"
if [[ $(id -u) -eq 0 ]]; then
    login_user=dovenull internal_user=dovecot internal_group=dovecot
    mail_uid=nobody mail_gid=nogroup
else
    login_user="$(id -un)" internal_user="$(id -un)" internal_group="$(id -gn)"
    mail_uid="$(id -u)" mail_gid="$(id -g)"
fi
chown -R "$mail_uid:$mail_gid" "$D/home"
mkdir -p "$D/tls"
python -m trustme -q -d "$D/tls" -i 127.0.0.1 localhost \
    || die "trustme could not make the IMAP test certificates"
chmod 600 "$D/tls/server.key"; chmod 644 "$D/tls/client.pem"  # client.pem: the CA's cert
export YHTEYS_TEST_IMAP_HOST=127.0.0.1 YHTEYS_TEST_IMAP_PORT="$IMAP_PORT"
export YHTEYS_TEST_IMAPS_PORT="$IMAPS_PORT" YHTEYS_TEST_IMAP_CA="$D/tls/client.pem"
export YHTEYS_TEST_IMAP_USER=counsel@yhteys.test YHTEYS_TEST_IMAP_PASSWORD=testpass
echo "$YHTEYS_TEST_IMAP_USER:{PLAIN}$YHTEYS_TEST_IMAP_PASSWORD" >"$D/passwd"
chmod 644 "$D/passwd"
cat >"$D/dovecot.conf" <<EOF
instance_name = yhteys-test
protocols = imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
ssl = yes
ssl_cert = <$D/tls/server.pem
ssl_key = <$D/tls/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = $login_user
default_internal_user = $internal_user
default_internal_group = $internal_group
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/passwd
}
userdb {
  driver = static
  args = uid=$mail_uid gid=$mail_gid home=$D/home/%n
}
service imap-login {
  chroot =
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = $IMAPS_PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
protocol imap {
  mail_max_userip_connections = 100
}
EOF
"$DOVECOT" -F -c "$D/dovecot.conf" >"$D/stdout.log" 2>&1 </dev/null &
PIDS+=($!)
wait_port Dovecot "$IMAP_PORT" "$D/dovecot.log"
wait_port "Dovecot (TLS)" "$IMAPS_PORT" "$D/dovecot.log"
python3 - <<'EOF' || { tail -n 30 "$D/dovecot.log" >&2; die "IMAP login to test dovecot failed"; }
import imaplib, os, ssl
env = os.environ
context = ssl.create_default_context(cafile=env["YHTEYS_TEST_IMAP_CA"])
for imap in (imaplib.IMAP4("127.0.0.1", int(env["YHTEYS_TEST_IMAP_PORT"]), timeout=10),
             imaplib.IMAP4_SSL("127.0.0.1", int(env["YHTEYS_TEST_IMAPS_PORT"]),
                               ssl_context=context, timeout=10)):
    with imap:
        imap.login(env["YHTEYS_TEST_IMAP_USER"], env["YHTEYS_TEST_IMAP_PASSWORD"])
        assert imap.select("INBOX")[0] == "OK"
EOF
log "servers up after ${SECONDS}s: postgres :$PG_PORT, redis :$REDIS_PORT," \
    "imap :$IMAP_PORT, imaps :$IMAPS_PORT"

# --- static checks ---------------------------------------------------------------------------
step="ruff";         ruff check .
step="mypy";         mypy
step="lint-imports"; lint-imports

# --- pytest, once per backend ----------------------------------------------------------------
run_pytest() {
    local backend=$1 debug=$2 rc=0; shift 2
    step="pytest ($backend)"
    rm -rf "$D/home/counsel/Maildir"        # both runs start with an empty IMAP mailbox
    log "pytest with YHTEYS_TEST_BACKEND=$backend (asyncio debug: $debug)"
    # asyncio's debug mode (a call into the loop from another thread raises, a coroutine
    # never awaited says where it was made, slow callbacks are logged) costs ~15 % of the
    # run's time, so it runs once: on SQLite, the embedded default, whose in-process jobs
    # hand the most work from threads to the loop. pytest-asyncio >= 1.x passes debug=False
    # to its loops unless asyncio_debug is set, which would override PYTHONASYNCIODEBUG=1:
    # set both.
    # In the background + wait, so that a TERM to this script is handled at once (bash runs
    # traps only between foreground commands); a terminal stays its stdin (for --pdb).
    local in=/dev/null; [[ -t 0 ]] && in=/dev/stdin
    local -a debug_env=() debug_opt=()
    if [[ $debug == on ]]; then debug_env=(PYTHONASYNCIODEBUG=1); debug_opt=(-o asyncio_debug=true); fi
    env "${debug_env[@]}" YHTEYS_TEST_BACKEND="$backend" python -m pytest "${debug_opt[@]}" \
        --durations=15 --junitxml="$TMP/junit-$backend.xml" "$@" <"$in" &
    PYTEST_PID=$!
    wait "$PYTEST_PID" || rc=$?
    PYTEST_PID=""
    ((rc != 5)) || die "pytest ($backend) collected no tests (exit 5): counted as a failure"
    ((rc == 0)) || exit "$rc"
}
# The browser tests run once, on PostgreSQL (tests/conftest.py): unless pytest arguments
# choose the tests, then both runs take what was chosen.
(($#)) || export YHTEYS_TEST_BROWSERS=postgres
run_pytest postgres off "$@"
run_pytest sqlite on "$@"

# --- summary (last line in the plain 'N passed, N failed' form) ------------------------------
step="summary"
shopt -s nullglob                           # no junit files if "$@" brought its own --junitxml
python3 - "$SECONDS" "$TMP"/junit-*.xml <<'EOF'
import sys, xml.etree.ElementTree as ET
secs, files = sys.argv[1], sys.argv[2:]
tot = dict(tests=0, failures=0, errors=0, skipped=0)
for f in files:
    for suite in ET.parse(f).getroot().iter("testsuite"):
        for k in tot: tot[k] += int(suite.get(k, 0))
bad = tot["failures"] + tot["errors"]
print(f"test.sh: ruff, mypy, lint-imports and pytest (postgres + sqlite) passed in {secs}s")
if files:  # counts of both pytest runs together
    passed = tot["tests"] - bad - tot["skipped"]
    print(f"summary: {passed} passed, {bad} failed, {tot['skipped']} skipped")
EOF
