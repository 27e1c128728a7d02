"""What a scenario is: a row of the table, the targets it is judged on, and its result.

A scenario is data: what it measures, what wrk sends to each side (or a `run` callable for
anything that is not a request loop), how to prepare, which targets apply and which extra
environment our API needs. `twin` derives a variant of an existing scenario (the same
requests with an API key instead of a JWT, the same load with metrics switched off) by
naming only what differs, so a variant can never drift from its original.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.wrk import Measurement, WrkSpec

if TYPE_CHECKING:
    from bench.context import Context


@dataclass
class ScenarioResult:
    ours: Measurement | None = None
    floor: Measurement | None = None
    error: str | None = None

    def ratio(self, attr: str) -> float | None:
        if self.ours is None or self.floor is None:
            return None
        floor_value = getattr(self.floor, attr)
        return getattr(self.ours, attr) / floor_value if floor_value else None

    def cpu_ratio(self) -> float | None:
        """CPU per request (app + database), ours / floor."""
        if self.ours is None or self.floor is None or not self.floor.app_cpu_ms:
            return None
        if self.ours.app_cpu_ms is None:
            return None
        ours = self.ours.app_cpu_ms + (self.ours.db_cpu_ms or 0)
        return ours / (self.floor.app_cpu_ms + (self.floor.db_cpu_ms or 0))


Check = Callable[[ScenarioResult, Mapping[str, ScenarioResult]], bool | None]


@dataclass(frozen=True)
class Target:
    """A goal printed next to a scenario: label for the table, check -> PASS/FAIL/None."""

    label: str
    check: Check
    # The same goal judged on CPU per request, which a busy neighbour hardly moves.
    cpu_check: Callable[[ScenarioResult], bool | None] | None = None


@dataclass(frozen=True)
class Scenario:
    """One row of the table. Add a scenario by adding an entry to bench/scenarios.py.

    By default it is a pair of wrk runs (`ours`, `floor`) after `prepare`; give `run` for
    anything else, e.g. a delivery scenario that starts `flask --app wsgi worker` and the
    delivery service with `ctx.procs.start(...)`, fills the table with notifications and
    returns ScenarioResult(ours=Measurement(rps=delivered_per_s, p50_ms=..., p99_ms=...)).
    `ours_env` is added to our API's environment for this scenario: the runner restarts
    our API when it differs from the previous scenario's (metrics on/off twins, say).
    """

    name: str
    measures: str
    ours: WrkSpec | None = None
    floor: WrkSpec | None = None
    prepare: Callable[[Context], None] | None = None
    targets: tuple[Target, ...] = ()
    run: Callable[[Context, Scenario], ScenarioResult] | None = None
    ours_env: Mapping[str, str] = field(default_factory=dict)


def rps_at_least(factor: float) -> Target:
    def check(r: ScenarioResult, _: Mapping[str, ScenarioResult]) -> bool | None:
        ratio = r.ratio("rps")
        return None if ratio is None else ratio >= factor

    def cpu_check(r: ScenarioResult) -> bool | None:
        ratio = r.cpu_ratio()
        return None if ratio is None else ratio <= 1 / factor

    return Target(f"rps ≥ {factor:g}x floor", check, cpu_check)


def cpu_above_floor_at_most(ms: float) -> Target:
    """CPU per request (app + database) at most `ms` above the floor's: for login, the
    work besides the one Argon2 verify both sides do, whatever that verify costs."""

    def cpu_extra(r: ScenarioResult) -> float | None:
        if r.ours is None or r.floor is None or r.ours.app_cpu_ms is None:
            return None
        if r.floor.app_cpu_ms is None:
            return None
        ours = r.ours.app_cpu_ms + (r.ours.db_cpu_ms or 0)
        return ours - (r.floor.app_cpu_ms + (r.floor.db_cpu_ms or 0))

    def check(r: ScenarioResult, _: Mapping[str, ScenarioResult]) -> bool | None:
        extra = cpu_extra(r)
        return None if extra is None else extra <= ms

    return Target(f"CPU/req ≤ floor's + {ms:g} ms", check)


def p99_at_most(factor: float) -> Target:
    def check(r: ScenarioResult, _: Mapping[str, ScenarioResult]) -> bool | None:
        ratio = r.ratio("p99_ms")
        return None if ratio is None else ratio <= factor

    return Target(f"p99 ≤ {factor:g}x floor", check)


def p99_vs_scenario(other: str, factor: float) -> Target:
    def check(r: ScenarioResult, results: Mapping[str, ScenarioResult]) -> bool | None:
        base = results.get(other)
        if r.ours is None or base is None or base.ours is None or not base.ours.p99_ms:
            return None
        return r.ours.p99_ms / base.ours.p99_ms <= factor

    return Target(f"ours p99 ≤ {factor:g}x {other} p99", check)


def rps_vs_scenario(other: str, factor: float) -> Target:
    """Our rps against another scenario's ours in the same run (a twin's original)."""

    def check(r: ScenarioResult, results: Mapping[str, ScenarioResult]) -> bool | None:
        base = results.get(other)
        if r.ours is None or base is None or base.ours is None or not base.ours.rps:
            return None
        return r.ours.rps / base.ours.rps >= factor

    return Target(f"rps ≥ {factor:g}x {other}", check)


def twin(base: Scenario, name: str, measures: str, **changes: Any) -> Scenario:
    """A variant of base under a new name: same requests, targets and preparation, except
    the fields given (e.g. `ours=WrkSpec(...)` with another credential, or `ours_env`)."""
    return dataclasses.replace(base, name=name, measures=measures, **changes)
