#!/usr/bin/env bash
# Start the whole service for development.
#
#   ./up_dev.sh           a Docker engine answers: `docker compose up --build` (PostgreSQL,
#                         Redis, migrate, delivery, api behind its proxy, worker, demo seed);
#                         otherwise as --local
#   ./up_dev.sh --local   here, without Docker: .venv, SQLite under instance/, migrations,
#                         demo seed, then delivery (127.0.0.1:8001), dispatcher and API (8000)
#                         in this terminal with prefixed output. Ctrl-C stops all three.
#
# Docker mode writes the secrets it generates (JWT_SECRET_KEY, DELIVERY_API_TOKEN) into .env
# when neither your shell nor .env gives them a value, so that every later compose command
# (`docker compose up -d --scale worker=2`, the seed...) finds the same ones; a value you
# set is never changed. Local mode keeps them in instance/dev-secret and
# instance/dev-delivery-token (instance/ is not committed) and ignores DATABASE_URL (always
# SQLite) and .env (that file is for compose).
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
            sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $arg (see --help)" ;;
    esac
done

API_PORT=8000
DELIVERY_PORT=8001
ENV_FILE="$ROOT/.env"

# dev_secret NAME: a random secret made once into instance/NAME and kept (a signing key
# kept means that tokens survive restarts).
dev_secret() {
    local file="$ROOT/instance/$1"
    if [ ! -s "$file" ]; then
        mkdir -p "$ROOT/instance"
        (
            umask 077
            od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$file"
        )
    fi
    cat "$file"
}

# env_file_value NAME: the value .env gives NAME (its last assignment, without quotes).
env_file_value() {
    [ -f "$ENV_FILE" ] || return 0
    awk -v name="$1" '
        match($0, "^[[:space:]]*" name "[[:space:]]*=") {
            value = substr($0, RLENGTH + 1)
            gsub(/^[[:space:]]+|[[:space:]]+$/, "", value)
            if (value ~ /^".*"$/ || value ~ /^\047.*\047$/) value = substr(value, 2, length(value) - 2)
            found = value
        }
        END { printf "%s", found }
    ' "$ENV_FILE"
}

# effective NAME DEFAULT: what compose uses for NAME: the shell's value, else .env's, else DEFAULT.
effective() {
    local value="${!1:-}"
    [ -n "$value" ] || value="$(env_file_value "$1")"
    printf '%s' "${value:-$2}"
}

# keep_in_env_file NAME VALUE: write NAME=VALUE into .env, unless the shell or .env already
# give NAME a value (an empty assignment in .env is replaced; nothing else is touched).
keep_in_env_file() {
    local name=$1 value=$2 kept
    [ -z "${!name:-}" ] || return 0
    [ -z "$(env_file_value "$name")" ] || return 0
    if [ -f "$ENV_FILE" ]; then
        kept="$(mktemp)"
        awk -v name="$name" '
            match($0, "^[[:space:]]*" name "[[:space:]]*=") {
                value = substr($0, RLENGTH + 1)
                gsub(/[[:space:]"\047]/, "", value)
                if (value == "") next
            }
            { print }
        ' "$ENV_FILE" >"$kept"
        cat "$kept" >"$ENV_FILE" # in place: the file keeps its owner and mode
        rm -f "$kept"
    else
        (
            umask 077
            printf '# Settings of the compose stack (see .env.example). ./up_dev.sh adds the secrets it\n# generates here when they are missing; it never changes a value you set.\n' >"$ENV_FILE"
        )
    fi
    printf '%s=%s\n' "$name" "$value" >>"$ENV_FILE" || die "cannot write $ENV_FILE"
    say "$name generated into .env (kept for every later compose command)"
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
    # Into .env, not only this process's environment: later compose commands need them too.
    keep_in_env_file JWT_SECRET_KEY "$(dev_secret dev-secret)"
    keep_in_env_file DELIVERY_API_TOKEN "$(dev_secret dev-delivery-token)"
    case "$(effective JWT_SECRET_KEY '')" in
        replace-me-*)
            printf 'up_dev.sh: warning: .env still has the example JWT_SECRET_KEY; generate one:\n' >&2
            printf '  python3 -c "import secrets; print(secrets.token_urlsafe(48))"\n' >&2
            ;;
    esac
    api_port="$(effective API_HOST_PORT 8000)"
    say "Docker engine found: ${compose[*]} up --build (Ctrl-C stops the stack)"
    say "API http://localhost:$api_port  docs http://localhost:$api_port/docs (through the proxy; the delivery service has no host port)"
    say "Emails sent by the stack: http://localhost:$(effective MAILPIT_HOST_PORT 8025) (Mailpit; set SMTP_HOST etc. in .env for a real server)"
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
JWT_SECRET_KEY="${JWT_SECRET_KEY:-$(dev_secret dev-secret)}"
# Shared by the dispatcher and the delivery service (which answers no one else).
DELIVERY_API_TOKEN="${DELIVERY_API_TOKEN:-$(dev_secret dev-delivery-token)}"
export JWT_SECRET_KEY DELIVERY_API_TOKEN
export DELIVERY_SERVICE_URL="http://127.0.0.1:$DELIVERY_PORT"
# Unsubscribe links in the dev stack's emails point at this API. Only a PUBLIC_BASE_URL you
# set reaches the delivery service, whose Twilio provider would ask Twilio to call it back.
APP_PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://localhost:$API_PORT}"
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
PUBLIC_BASE_URL="$APP_PUBLIC_BASE_URL" start worker flask --app wsgi worker
PUBLIC_BASE_URL="$APP_PUBLIC_BASE_URL" PORT="$API_PORT" start api gunicorn wsgi:app
wait_healthy api "${PIDS[2]}" "http://127.0.0.1:$API_PORT/health"

cat <<EOF

  API        http://localhost:$API_PORT
  API docs   http://localhost:$API_PORT/docs
  links      unsubscribe links in emails start with $APP_PUBLIC_BASE_URL (PUBLIC_BASE_URL)
  delivery   http://127.0.0.1:$DELIVERY_PORT (loopback only; token in instance/dev-delivery-token)
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
