#!/usr/bin/env bash
# Start the whole service for development.
#
#   ./up_dev.sh           a Docker engine answers: `docker compose up --build` (PostgreSQL,
#                         Redis, migrate, delivery, api, worker, demo seed); otherwise as --local
#   ./up_dev.sh --local   here, without Docker: .venv, SQLite under instance/, migrations,
#                         demo seed, then delivery (8001), dispatcher and API (8000) in this
#                         terminal with prefixed output. Ctrl-C stops all three.
#
# Local mode keeps a generated JWT signing key in instance/dev-secret (instance/ is not
# committed) and ignores DATABASE_URL (always SQLite) and .env (that file is for compose).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

die() {
    printf 'up_dev.sh: %s\n' "$*" >&2
    exit 1
}
say() { printf '==> %s\n' "$*"; }

mode=auto
for arg in "$@"; do
    case "$arg" in
        --local) mode=local ;;
        -h | --help)
            sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $arg (see --help)" ;;
    esac
done

API_PORT=8000
DELIVERY_PORT=8001
SECRET_FILE="$ROOT/instance/dev-secret"

# A signing key made once and kept: tokens survive restarts.
dev_secret() {
    if [ ! -s "$SECRET_FILE" ]; then
        mkdir -p "$ROOT/instance"
        (
            umask 077
            od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$SECRET_FILE"
        )
    fi
    cat "$SECRET_FILE"
}

# ---- Docker mode -----------------------------------------------------------------------

docker_answers() {
    command -v docker >/dev/null 2>&1 || return 1
    if command -v timeout >/dev/null 2>&1; then
        timeout 5 docker info >/dev/null 2>&1
    else
        docker info >/dev/null 2>&1
    fi
}

if [ "$mode" = auto ] && docker_answers; then
    if docker compose version >/dev/null 2>&1; then
        compose=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        compose=(docker-compose)
    else
        die "a Docker engine answers but neither 'docker compose' nor 'docker-compose' is installed (or use --local)"
    fi
    if [ -z "${JWT_SECRET_KEY:-}" ] && ! grep -qE '^JWT_SECRET_KEY=.+' .env 2>/dev/null; then
        JWT_SECRET_KEY="$(dev_secret)"
        export JWT_SECRET_KEY
        say "JWT_SECRET_KEY from instance/dev-secret (set it in .env to choose your own)"
    elif grep -q '^JWT_SECRET_KEY=replace-me-' .env 2>/dev/null; then
        printf 'up_dev.sh: warning: .env still has the example JWT_SECRET_KEY; generate one:\n' >&2
        printf '  python3 -c "import secrets; print(secrets.token_urlsafe(48))"\n' >&2
    fi
    say "Docker engine found: ${compose[*]} up --build (Ctrl-C stops the stack)"
    say "API http://localhost:${API_HOST_PORT:-8000}  docs http://localhost:${API_HOST_PORT:-8000}/docs  delivery http://localhost:${DELIVERY_HOST_PORT:-8001}"
    say "Emails sent by the stack: http://localhost:${MAILPIT_HOST_PORT:-8025} (Mailpit; set SMTP_HOST etc. in .env for a real server)"
    exec "${compose[@]}" --profile seed up --build
fi

# ---- local mode: virtualenv (scripts/venv.sh, shared with up_test.sh) ------------------

# shellcheck source=scripts/venv.sh
. "$ROOT/scripts/venv.sh"

# ---- local mode ------------------------------------------------------------------------

ensure_venv
PY="$VENV/bin/python"

port_free() {
    "$PY" - "$1" <<'EOF'
import socket, sys
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    sock.bind(("0.0.0.0", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    sock.close()
EOF
}
for port in "$API_PORT" "$DELIVERY_PORT"; do
    port_free "$port" || die "port $port is already in use (another ./up_dev.sh or compose stack? find it with: lsof -i :$port)"
done

unset DATABASE_URL
JWT_SECRET_KEY="${JWT_SECRET_KEY:-$(dev_secret)}"
export JWT_SECRET_KEY
export DELIVERY_SERVICE_URL="http://127.0.0.1:$DELIVERY_PORT"
export PYTHONUNBUFFERED=1
export PATH="$VENV/bin:$PATH"

say "Database: SQLite (instance/notifier.db)"
say "Providers: email=${EMAIL_PROVIDER:-simulator} sms=${SMS_PROVIDER:-simulator} push=${PUSH_PROVIDER:-simulator} (set EMAIL_PROVIDER etc. to use real ones)"
say "flask --app wsgi db upgrade"
flask --app wsgi db upgrade
say "flask --app wsgi seed"
flask --app wsgi seed || printf 'up_dev.sh: warning: seeding failed (already seeded?); continuing\n' >&2

RUN_DIR="$(mktemp -d)"
PIDS=()
NAMES=()
PREFIXERS=()

# shellcheck disable=SC2317  # invoked by the traps
cleanup() {
    trap - EXIT INT TERM
    local pid i
    if [ "${#PIDS[@]}" -gt 0 ]; then
        printf '\n==> stopping %s\n' "${NAMES[*]}"
        for pid in "${PIDS[@]}"; do
            kill -TERM "$pid" 2>/dev/null || true
        done
        # Gunicorn finishes requests in flight; give everyone 20 s, then force.
        for i in $(seq 1 40); do
            alive=0
            for pid in "${PIDS[@]}"; do
                if kill -0 "$pid" 2>/dev/null; then alive=1; fi
            done
            [ "$alive" = 0 ] && break
            sleep 0.5
        done
        for pid in "${PIDS[@]}"; do
            kill -KILL "$pid" 2>/dev/null || true
        done
    fi
    for pid in ${PIDS[@]+"${PIDS[@]}"} ${PREFIXERS[@]+"${PREFIXERS[@]}"}; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME COMMAND...: runs COMMAND in the background, every output line prefixed by NAME.
start() {
    local name=$1 fifo="$RUN_DIR/$1.fifo"
    shift
    mkfifo "$fifo"
    # The prefixer ignores INT/TERM and ends when the command closes the pipe, so the
    # last lines of a shutdown are still shown.
    (
        trap '' INT TERM
        exec awk -v p="$(printf '%-8s| ' "$name")" '{ print p $0; fflush() }' <"$fifo"
    ) &
    PREFIXERS+=("$!")
    "$@" >"$fifo" 2>&1 &
    PIDS+=("$!")
    NAMES+=("$name")
}

wait_healthy() {
    local name=$1 pid=$2 url=$3 _
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during startup (see its lines above)"
        if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
            "$url" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    die "$name did not answer $url within 30 s"
}

PORT="$DELIVERY_PORT" start delivery gunicorn -c delivery/gunicorn.conf.py 'delivery:create_app()'
wait_healthy delivery "${PIDS[0]}" "http://127.0.0.1:$DELIVERY_PORT/health"
start worker flask --app wsgi worker
PORT="$API_PORT" start api gunicorn wsgi:app
wait_healthy api "${PIDS[2]}" "http://127.0.0.1:$API_PORT/health"

cat <<EOF

  API        http://localhost:$API_PORT
  API docs   http://localhost:$API_PORT/docs
  delivery   http://localhost:$DELIVERY_PORT
  database   instance/notifier.db (SQLite)

  Ctrl-C stops everything.

EOF

# If one process dies, stop the others rather than run half a system.
while :; do
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            rc=0
            wait "${PIDS[$i]}" || rc=$?
            printf 'up_dev.sh: %s exited (code %s); stopping the others\n' "${NAMES[$i]}" "$rc" >&2
            exit 1
        fi
    done
    sleep 1
done
