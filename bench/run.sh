#!/bin/sh
# Run the benchmark with the repository's virtualenv; arguments go to bench/run.py.
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/run.py "$@"
