# shellcheck shell=bash
# The virtualenv shared by up_dev.sh and up_test.sh (sourced; they define die and say).
# Creates .venv (or $NOTIFIER_VENV) with Python 3.11.5+, and reinstalls requirements-dev.txt
# only when the requirements (or the Python client's pyproject.toml) or the Python minor
# version changed (a hash stamp in the venv).

VENV="${NOTIFIER_VENV:-$ROOT/.venv}"
STAMP="$VENV/.requirements-dev.sha256"

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11, 5))' >/dev/null 2>&1; }

find_python() {
    local candidate
    for candidate in ${PYTHON:+"$PYTHON"} python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

requirements_hash() {
    # Both requirements files (requirements-dev.txt includes requirements.txt) and the client's
    # pyproject.toml (installed editable: only a change of its dependencies needs a
    # reinstall). The Python minor version too: a venv built for another interpreter
    # must be reinstalled.
    "$VENV/bin/python" - <<'EOF'
import hashlib, sys
digest = hashlib.sha256(f"{sys.version_info[0]}.{sys.version_info[1]}\n".encode())
for name in ("requirements.txt", "requirements-dev.txt", "clients/python/pyproject.toml"):
    with open(name, "rb") as fh:
        digest.update(fh.read())
print(digest.hexdigest())
EOF
}

ensure_venv() {
    if ! python_ok "$VENV/bin/python"; then
        local base
        base="$(find_python)" ||
            die "Python 3.11.5 or newer is required, for the pinned docs tools (tried python3, python3.13, python3.12, python3.11; set PYTHON=/path/to/python)"
        say "Creating virtualenv $VENV with $("$base" --version 2>&1)"
        "$base" -m venv --clear "$VENV"
    fi
    local want
    want="$(requirements_hash)"
    if [ "$want" != "$(cat "$STAMP" 2>/dev/null || true)" ]; then
        say "Installing requirements-dev.txt into $VENV"
        "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements-dev.txt
        printf '%s\n' "$want" >"$STAMP"
    else
        printf 'Virtualenv %s is up to date with requirements-dev.txt\n' "$VENV"
    fi
}
