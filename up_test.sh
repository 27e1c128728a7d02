#!/usr/bin/env bash
# Run the checks and the test suite.
#
#   ./up_test.sh                 a Docker engine answers: the suite in containers against
#                                PostgreSQL (docker-compose.test.yml); otherwise as --local
#   ./up_test.sh --local         here: .venv, config checks, ruff, the docs build
#                                (mkdocs build --strict), pytest with coverage
#   ./up_test.sh -k login -x     any other argument goes to pytest
#   ./up_test.sh --install-only  create or refresh the virtualenv, then stop
#
# Local mode uses SQLite unless TEST_DATABASE_URL is set (PostgreSQL; the tests read it).
# The exit code is pytest's; when pytest passes but a lint or config check failed, it is 1.
# Coverage must reach 90 % on a full run; with pytest arguments (a subset) the floor is off.
# Override with COV_FAIL_UNDER=<n>. NOTIFIER_VENV=<dir> uses another virtualenv than .venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

die() {
    printf 'up_test.sh: %s\n' "$*" >&2
    exit 1
}
say() { printf '\n==> %s\n' "$*"; }

mode=auto
install_only=0
pytest_args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --local) mode=local ;;
        --install-only) mode=local install_only=1 ;;
        -h | --help)
            sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) pytest_args+=("$1") ;;
    esac
    shift
done

# ---- virtualenv (scripts/venv.sh, shared with up_dev.sh) ------------------------------

# shellcheck source=scripts/venv.sh
. "$ROOT/scripts/venv.sh"

# ---- Docker mode -----------------------------------------------------------------------

docker_answers() {
    command -v docker >/dev/null 2>&1 || return 1
    if command -v timeout >/dev/null 2>&1; then
        timeout 5 docker info >/dev/null 2>&1
    else
        docker info >/dev/null 2>&1
    fi
}

compose() {
    if docker compose version >/dev/null 2>&1; then
        docker compose "$@"
    elif command -v docker-compose >/dev/null 2>&1; then
        docker-compose "$@"
    else
        die "a Docker engine answers but neither 'docker compose' nor 'docker-compose' is installed (or use --local)"
    fi
}

TEST_STACK=(-f docker-compose.test.yml -p notifier-test)

# shellcheck disable=SC2317  # invoked by the trap
remove_test_stack() { compose "${TEST_STACK[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }

run_in_docker() {
    local -a tty=()
    [ -t 0 ] && [ -t 1 ] || tty=(-T)
    trap remove_test_stack EXIT
    say "Docker engine found: tests in containers against PostgreSQL (docker-compose.test.yml)"
    compose "${TEST_STACK[@]}" build tests
    local rc=0
    compose "${TEST_STACK[@]}" run --rm "${tty[@]+"${tty[@]}"}" tests \
        ./up_test.sh --local "${pytest_args[@]+"${pytest_args[@]}"}" || rc=$?
    exit "$rc"
}

if [ "$mode" = auto ] && docker_answers; then
    run_in_docker
fi

# ---- local mode ------------------------------------------------------------------------

ensure_venv
if [ "$install_only" = 1 ]; then
    exit 0
fi
export PATH="$VENV/bin:$PATH"

if [ -n "${TEST_DATABASE_URL:-}" ]; then
    # Hide a password, if any, in what is printed.
    shown="$(printf '%s' "$TEST_DATABASE_URL" | sed -E 's#(//[^:/@]*):[^@]*@#\1:***@#')"
    printf 'Database: %s (TEST_DATABASE_URL)\n' "$shown"
    python - "$TEST_DATABASE_URL" <<'EOF' || die "database unreachable: $shown (is PostgreSQL running? check TEST_DATABASE_URL)"
import re
import sys
import sqlalchemy
# Same driver choice as config.py: psycopg2, also for Heroku-style postgres:// URLs.
url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg2://", sys.argv[1])
try:
    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 5})
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
except Exception as exc:
    print((str(exc).strip().splitlines() or [repr(exc)])[0], file=sys.stderr)
    sys.exit(1)
EOF
else
    printf 'Database: SQLite (instance/test.db; set TEST_DATABASE_URL for PostgreSQL)\n'
fi

failed=()

say "Config checks (scripts/check_configs.sh)"
scripts/check_configs.sh || failed+=("config checks")

say "ruff check ."
ruff check . || failed+=("ruff check")

say "ruff format --check ."
ruff format --check . || failed+=("ruff format")

# The documentation site: a broken link, a missing page or an undocumented setting fails it.
# .ci/run builds it once before its two suites and sets NOTIFIER_SKIP_DOCS=1 for them.
if [ "${NOTIFIER_SKIP_DOCS:-0}" != 1 ]; then
    say "mkdocs build --strict"
    docs_site="$(mktemp -d)"
    NO_MKDOCS_2_WARNING=1 python -m mkdocs build --strict --quiet --site-dir "$docs_site" ||
        failed+=("docs build")
    rm -rf "$docs_site"
fi

if [ "${#pytest_args[@]}" -eq 0 ]; then
    cov_min="${COV_FAIL_UNDER:-90}"
else
    cov_min="${COV_FAIL_UNDER:-0}"
fi
say "pytest (coverage floor ${cov_min} %)"
rc=0
python -m pytest --cov --cov-report=term --cov-report=xml --cov-fail-under="$cov_min" \
    "${pytest_args[@]+"${pytest_args[@]}"}" || rc=$?

if [ "${#failed[@]}" -gt 0 ]; then
    printf '\nup_test.sh: failed before pytest: %s\n' "$(IFS=,; printf '%s' "${failed[*]}" | sed 's/,/, /g')" >&2
    if [ "$rc" -eq 0 ]; then
        rc=1
    fi
fi
exit "$rc"
