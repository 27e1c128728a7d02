"""How much of an API worker's memory is ours: its RSS minus the same libraries alone.

An API worker's RSS is mostly the third-party libraries it imports (SQLAlchemy alone is
about a third of it), which a line on the whole RSS measures more than our code. This asks
a fresh interpreter which third-party modules the app loads (`import wsgi`, the factory
included), then imports exactly those in a second fresh interpreter and reads its VmRSS:
the "libraries alone" figure. A worker's RSS minus it is our part (our modules, the app
object, the OpenAPI document, caches filled by serving), which `bench/run.py` judges.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

from bench.paths import REPO_ROOT

# Prints the third-party modules `import wsgi` loads (those under site-packages).
_LIST = """
import json, sys, sysconfig
import wsgi
site = sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]
names = sorted(
    name for name, module in list(sys.modules.items())
    if str(getattr(module, "__file__", "") or "").startswith(site)
)
print(json.dumps(names))
"""

# Imports the given modules (parents first) and prints VmRSS in KiB.
_LOAD = """
import importlib, json, sys
for name in json.loads(sys.stdin.read()):
    try:
        importlib.import_module(name)
    except Exception:
        pass
status = open("/proc/self/status").read()
print(status.split("VmRSS:")[1].split()[0])
"""


def libraries_alone_mib(env: Mapping[str, str]) -> float:
    """VmRSS (MiB) of a fresh interpreter holding the app's third-party modules only."""
    listed = subprocess.run(
        [sys.executable, "-c", _LIST],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = subprocess.run(
        [sys.executable, "-c", _LOAD],
        cwd=REPO_ROOT,
        env=dict(env),
        input=listed.stdout,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(loaded.stdout.strip()) / 1024


if __name__ == "__main__":
    import os

    print(f"{libraries_alone_mib(os.environ):.1f} MiB")
