"""The benchmark's shape: small modules, a declarative scenario table, a safe database name.

Nothing here runs wrk or a server; these checks catch a scenario that names a script that
does not exist, a twin that drifts, or a database name the run would wrongly DROP.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bench.database import Database
from bench.paths import BENCH_DIR, SCRIPTS_DIR
from bench.scenario import twin
from bench.scenarios import GET, SCENARIO_LIST, SCENARIOS
from bench.wrk import WrkSpec

MAX_LINES = 300


@pytest.mark.parametrize("path", sorted(BENCH_DIR.glob("*.py")), ids=lambda p: p.name)
def test_every_bench_module_is_small_and_says_what_it_is_for(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_LINES, f"{path.name}: split it along a seam"
    assert ast.get_docstring(ast.parse(text)), f"{path.name} has no module docstring"


def test_the_process_helper_imports_the_standard_library_only() -> None:
    tree = ast.parse((BENCH_DIR / "processes.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= {
        "__future__", "contextlib", "collections", "dataclasses", "os", "pathlib",
        "signal", "socket", "subprocess", "sys", "time", "typing", "urllib",
    }  # fmt: skip


def test_scenario_names_are_unique_and_every_script_exists() -> None:
    assert len(SCENARIOS) == len(SCENARIO_LIST)
    for scenario in SCENARIO_LIST:
        specs = [s for s in (scenario.ours, scenario.floor) if s is not None]
        assert specs or scenario.run, f"{scenario.name} measures nothing"
        for spec in specs:
            assert (SCRIPTS_DIR / spec.script).is_file(), f"{scenario.name}: {spec.script}"


def test_a_twin_keeps_everything_it_does_not_name() -> None:
    keyed = twin(
        GET,
        "get_key",
        "GET /notifications/<id> with an API key",
        ours=WrkSpec("get.lua", "/notifications"),
        ours_env={"SOME_FLAG": "1"},
    )
    assert (keyed.name, keyed.ours.script, keyed.ours_env) == (
        "get_key",
        "get.lua",
        {"SOME_FLAG": "1"},
    )
    assert (keyed.floor, keyed.prepare, keyed.targets) == (GET.floor, GET.prepare, GET.targets)
    assert GET.ours_env == {}


@pytest.mark.parametrize("name", ["test", "wt_e", "postgres", "bench; DROP", "Bench_x", ""])
def test_a_database_the_run_would_drop_must_be_a_bench_database(name: str) -> None:
    with pytest.raises(ValueError, match="bench"):
        Database(name)


def test_a_bench_database_name_is_accepted() -> None:
    assert Database("bench_e").dsn.endswith("/bench_e")
