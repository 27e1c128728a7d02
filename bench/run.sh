#!/bin/sh
# The whole benchmark in one command, with the repository's virtualenv:
#   1. bench/run.py: our API vs the floor app, per endpoint (arguments go to it);
#   2. bench/delivery_bench.py: dispatcher deliveries/s and create->sent latency.
# Set BENCH_SKIP_DELIVERY=1 to run only the first part.
set -eu
cd "$(dirname "$0")/.."
.venv/bin/python bench/run.py "$@"
if [ "${BENCH_SKIP_DELIVERY:-0}" != 1 ]; then
    .venv/bin/python bench/delivery_bench.py
fi
