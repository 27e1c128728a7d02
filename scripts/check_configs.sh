#!/usr/bin/env bash
# Validate the repository's configuration files, offline:
#   - .circleci/config.yml against the CircleCI schema vendored in check-jsonschema
#   - each compose file with `docker compose config -q` (or docker-compose v1), without a .env
#     (what CI sees) and, when one exists, with your .env
#   - every *.sh, .ci/run and notifier-cli with shellcheck
#   - the Dockerfile with hadolint
#   - deploy/kubernetes/ rendered (base and overlays) and validated against the Kubernetes
#     schemas shipped in kubernetes-validate (scripts/k8s_manifests.py)
#   - deploy/nginx/notifier.conf (the compose proxy) with `nginx -t`, inside a minimal main file
#   - .env.example names every variable the compose files read; entry scripts are executable
# A missing tool is a "skip" line, or a failure when CHECK_CONFIGS_STRICT=1 (CI sets it).
# Tools are looked up on PATH, then in $NOTIFIER_VENV/bin and .venv/bin.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STRICT="${CHECK_CONFIGS_STRICT:-0}"
failures=0

pass() { printf '  ok    %s\n' "$*"; }
fail() {
    printf '  FAIL  %s\n' "$*"
    failures=$((failures + 1))
}
missing() {
    if [ "$STRICT" = 1 ]; then
        fail "$1: $2 is not installed (required: CHECK_CONFIGS_STRICT=1)"
    else
        printf '  skip  %s: %s is not installed\n' "$1" "$2"
    fi
}

find_tool() {
    local dir
    if command -v "$1" >/dev/null 2>&1; then
        command -v "$1"
        return 0
    fi
    for dir in ${NOTIFIER_VENV:+"$NOTIFIER_VENV/bin"} "$ROOT/.venv/bin"; do
        if [ -x "$dir/$1" ]; then
            printf '%s\n' "$dir/$1"
            return 0
        fi
    done
    return 1
}

# Runs a check quietly; on failure shows its output.
check() {
    local label=$1 out
    shift
    if out="$("$@" 2>&1)"; then
        pass "$label"
    else
        fail "$label"
        printf '%s\n' "$out" | sed 's/^/        /'
    fi
}

TMP_DIR="$(mktemp -d)"
trap 'rm -rf "$TMP_DIR"' EXIT

# ---- CircleCI ---------------------------------------------------------------------------
if cj="$(find_tool check-jsonschema)"; then
    check "CircleCI config (.circleci/config.yml, vendored schema)" \
        "$cj" --builtin-schema vendor.circle-ci .circleci/config.yml
else
    missing "CircleCI config" "check-jsonschema (pip install -r requirements-dev.txt)"
fi

# ---- Docker Compose -----------------------------------------------------------------------
compose=()
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif dc="$(find_tool docker-compose)"; then
    compose=("$dc")
fi
if [ "${#compose[@]}" -gt 0 ]; then
    : >"$TMP_DIR/empty.env"
    for file in docker-compose.yml docker-compose.test.yml; do
        check "$file (${compose[*]##*/} config, no .env)" \
            "${compose[@]}" --env-file "$TMP_DIR/empty.env" -f "$file" config -q
        if [ -f .env ]; then
            check "$file (${compose[*]##*/} config, with .env)" "${compose[@]}" -f "$file" config -q
        fi
    done
else
    missing "compose files" "docker compose / docker-compose"
fi

# ---- shell scripts -------------------------------------------------------------------------
if sc="$(find_tool shellcheck)"; then
    scripts=()
    while IFS= read -r -d '' script; do
        scripts+=("$script")
    done < <(find . \( -path ./.git -o -path ./.venv -o -path ./venv -o -path ./node_modules \
        -o -path ./instance \) -prune -o -type f -name '*.sh' -print0)
    for script in ./.ci/run ./notifier-cli; do
        if [ -f "$script" ]; then
            scripts+=("$script")
        fi
    done
    check "shellcheck (${#scripts[@]} scripts)" "$sc" "${scripts[@]}"
else
    missing "shell scripts" "shellcheck"
fi

# ---- Dockerfile -----------------------------------------------------------------------------
if hl="$(find_tool hadolint)"; then
    check "Dockerfile (hadolint)" "$hl" Dockerfile
else
    missing "Dockerfile" "hadolint (pip install -r requirements-dev.txt)"
fi

# ---- Kubernetes manifests ---------------------------------------------------------------------
py=""
for candidate in ${NOTIFIER_VENV:+"$NOTIFIER_VENV/bin/python"} "$ROOT/.venv/bin/python" python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import kubernetes_validate' 2>/dev/null; then
        py="$candidate"
        break
    fi
done
if [ -n "$py" ]; then
    check "Kubernetes manifests (deploy/kubernetes, kubernetes-validate)" \
        "$py" scripts/k8s_manifests.py check
else
    missing "Kubernetes manifests" "kubernetes-validate (pip install -r requirements-dev.txt)"
fi

# ---- nginx (the API's proxy in compose) -----------------------------------------------------
if ngx="$(find_tool nginx)"; then
    # The file is an http-level include (conf.d/default.conf in the nginx image): wrap it in
    # a main file whose paths are all under TMP_DIR, so that no root or /var/log is needed.
    # `nginx -t` opens the log files it names: a copy of the server block logs under TMP_DIR
    # (as the test image's non-root user, /var/log/nginx is not writable).
    mkdir -p "$TMP_DIR/nginx/logs"
    sed "s#/var/log/nginx/#$TMP_DIR/nginx/logs/#g" deploy/nginx/notifier.conf >"$TMP_DIR/nginx/notifier.conf"
    cat >"$TMP_DIR/nginx/nginx.conf" <<EOF
pid $TMP_DIR/nginx/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path $TMP_DIR/nginx/body;
    proxy_temp_path $TMP_DIR/nginx/proxy;
    fastcgi_temp_path $TMP_DIR/nginx/fastcgi;
    uwsgi_temp_path $TMP_DIR/nginx/uwsgi;
    scgi_temp_path $TMP_DIR/nginx/scgi;
    include $TMP_DIR/nginx/notifier.conf;
}
EOF
    check "deploy/nginx/notifier.conf (nginx -t)" \
        "$ngx" -t -q -e stderr -p "$TMP_DIR/nginx" -c "$TMP_DIR/nginx/nginx.conf"
else
    missing "nginx config" "nginx (apt-get install nginx)"
fi

# ---- consistency ------------------------------------------------------------------------------
undocumented=()
while IFS= read -r var; do
    case "$var" in
        CI) continue ;; # CI's own flag, passed through
    esac
    grep -qE "^#? ?${var}=" .env.example || undocumented+=("$var")
done < <(cat docker-compose.yml docker-compose.test.yml | grep -v '^[[:space:]]*#' |
    grep -oE '\$\{[A-Z][A-Z0-9_]*' | cut -c3- | sort -u)
if [ "${#undocumented[@]}" -eq 0 ]; then
    pass ".env.example names every variable the compose files read"
else
    fail ".env.example lacks: ${undocumented[*]}"
fi

not_executable=()
for script in up_dev.sh up_test.sh docker-entrypoint.sh scripts/check_configs.sh .ci/run; do
    [ -x "$script" ] || not_executable+=("$script")
done
if [ "${#not_executable[@]}" -eq 0 ]; then
    pass "entry scripts are executable"
else
    fail "not executable (chmod +x; git update-index --chmod=+x): ${not_executable[*]}"
fi

if [ "$failures" -gt 0 ]; then
    printf 'check_configs.sh: %d check(s) failed\n' "$failures" >&2
    exit 1
fi
