"""bench/memory_share.py: the libraries-alone figure that the API's memory line subtracts."""

import os
import subprocess
import sys

from bench.memory_share import libraries_alone_mib
from bench.paths import REPO_ROOT

APP_ENV = {**os.environ, "JWT_SECRET_KEY": "memory-share-test-key-0123456789-abcdef"}


def _app_import_mib() -> float:
    out = subprocess.run(
        [sys.executable, "-c", "import wsgi; print(open('/proc/self/status').read())"],
        cwd=REPO_ROOT,
        env=APP_ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.split("VmRSS:")[1].split()[0]) / 1024


def test_the_libraries_alone_are_most_but_not_all_of_the_app():
    libraries = libraries_alone_mib(APP_ENV)
    app = _app_import_mib()
    # SQLAlchemy, Flask and psycopg2 alone are well over 30 MiB; our code adds to them.
    assert 30 < libraries < app
