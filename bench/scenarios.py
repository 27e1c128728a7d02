"""The scenario table: every row of the report, with its requests, data and targets.

Add a scenario by adding an entry to SCENARIO_LIST (order = run order); a variant of an
existing one is `twin(GET, "get_key", "...", ours=WrkSpec(...))`, naming only what
differs, e.g. another credential through the script's env (common.lua sends BENCH_TOKEN in
the header named by BENCH_AUTH_HEADER, `Authorization: Bearer` by default) or
`ours_env={...}` for our API. A measurement that is not a request loop (webhook delivery
throughput, say) passes `run=`, see Scenario.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.console_scenarios import CONSOLE_LIST
from bench.context import Context, expect
from bench.receipt_scenarios import RECEIPT
from bench.scenario import (
    Scenario,
    cpu_above_floor_at_most,
    p99_at_most,
    p99_vs_scenario,
    rps_at_least,
    rps_vs_scenario,
    twin,
)
from bench.template_scenarios import CREATE_TEMPLATE
from bench.wrk import WrkSpec

LIST_SMALL = 100
LIST_LARGE = 100_000
LOGIN_POOL = 4


CREATE_BODY = {
    "title": "Benchmark notification",
    "content": "Hello from the benchmark set-up.",
    "channel": "email",
    "target": "bench.recipient@example.com",
}


def prepare_small_list(ctx: Context) -> None:
    """User 'list100' with exactly LIST_SMALL notifications, made through the API."""
    if "list100" in ctx.ids:
        return
    user = ctx.user("list100")
    ids = []
    for i in range(LIST_SMALL):
        r = ctx.http.post(
            f"{ctx.primary.base_url}/notifications",
            json={**CREATE_BODY, "title": f"Benchmark notification {i}"},
            headers={"Authorization": f"Bearer {user.token}"},
            timeout=30,
        )
        expect(r, 201, "POST /notifications")
        ids.append(int(r.json()["id"]))
    ctx.ids["list100"] = ids


def prepare_get(ctx: Context) -> None:
    prepare_small_list(ctx)
    user, nid = ctx.user("list100"), ctx.ids["list100"][0]
    ctx.smoke("GET", f"/notifications/{nid}", user.token, None, 200)


def prepare_patch(ctx: Context) -> None:
    prepare_small_list(ctx)
    user, nid = ctx.user("list100"), ctx.ids["list100"][0]
    ctx.smoke("PATCH", f"/notifications/{nid}", user.token, {"title": "Smoke"}, 200)


def prepare_list_small(ctx: Context) -> None:
    prepare_small_list(ctx)
    ctx.smoke("GET", "/notifications", ctx.user("list100").token, None, 200)


def prepare_list_large(ctx: Context) -> None:
    """User 'list100k' with LIST_LARGE rows from one INSERT ... SELECT generate_series."""
    user = ctx.user("list100k")
    assert ctx.schema is not None
    # One row a second back in time: distinct created_at, newest first = lowest g.
    age = "now() - g * interval '1 second'"
    sql = ctx.schema.insert_sql(
        {
            "user_id": "%s",
            "title": "'Bulk notification ' || g",
            "content": "'Bulk content number ' || g",
            "channel": "'email'",
            "target": "'bulk' || g || '@example.com'",
            "status": "'pending'",
            "attempts": "0",
            "next_attempt_at": age,
            "created_at": age,
            "updated_at": age,
        },
        select_from="generate_series(1, %s) AS g",
    )
    started = time.monotonic()
    ctx.db.execute(sql, (user.id, LIST_LARGE))
    # Fresh statistics, as autovacuum would give a table that grew over time.
    ctx.db.outside_transaction("ANALYZE notifications")
    ctx.notes.append(
        f"list_100k: {LIST_LARGE} rows inserted with SQL in {time.monotonic() - started:.1f}s, "
        "then ANALYZE."
    )
    ctx.smoke("GET", "/notifications", user.token, None, 200)


def prepare_create(ctx: Context) -> None:
    ctx.smoke("POST", "/notifications", ctx.user("create").token, CREATE_BODY, 201)


def prepare_login(ctx: Context) -> None:
    for i in range(LOGIN_POOL):
        ctx.user(f"login{i}")


def token_env(role: str) -> Callable[[Context], dict[str, str]]:
    return lambda ctx: {"BENCH_TOKEN": ctx.user(role).token}


def ids_env(role: str) -> Callable[[Context], dict[str, str]]:
    return lambda ctx: {
        "BENCH_TOKEN": ctx.user(role).token,
        "BENCH_IDS": ",".join(map(str, ctx.ids[role])),
    }


def key_env(role: str, with_ids: bool = False) -> Callable[[Context], dict[str, str]]:
    """The role's API key instead of its token (ours only); with its ids for get.lua."""

    def env(ctx: Context) -> dict[str, str]:
        values = {"BENCH_TOKEN": ctx.api_key(role)}
        if with_ids:
            values["BENCH_IDS"] = ",".join(map(str, ctx.ids[role]))
        return values

    return env


def smoke_ours_with_key(ctx: Context, method: str, path: str, role: str, body, want: int):
    """ctx.smoke for our API alone, with the role's API key."""
    if ctx.ours is None:
        return
    r = ctx.http.request(
        method,
        f"{ctx.ours.base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {ctx.api_key(role)}"},
        timeout=30,
    )
    if r.status_code != want:
        ctx.notes.append(f"ours: {method} {path} with a key answered {r.status_code}: {r.text}")


def prepare_get_key(ctx: Context) -> None:
    prepare_get(ctx)
    nid = ctx.ids["list100"][0]
    smoke_ours_with_key(ctx, "GET", f"/notifications/{nid}", "list100", None, 200)


def prepare_create_key(ctx: Context) -> None:
    prepare_create(ctx)
    smoke_ours_with_key(ctx, "POST", "/notifications", "create", CREATE_BODY, 201)


def login_env(ctx: Context) -> dict[str, str]:
    pool = [ctx.user(f"login{i}") for i in range(LOGIN_POOL)]
    return {"BENCH_LOGIN_USERS": ",".join(f"{u.email}:{u.password}" for u in pool)}


# Order matters: login last (it is CPU-bound and leaves argon2's 64 MiB behind in the
# allocator, if anything does), create after the lists (separate users anyway).


EMPTY = Scenario(
    name="empty",
    measures="GET /health (ours) vs GET /empty (floor): Flask + gunicorn, no I/O",
    ours=WrkSpec("path.lua", "/health"),
    floor=WrkSpec("path.lua", "/empty"),
)
GET = Scenario(
    name="get",
    measures="GET /notifications/<id>, cycling over the 100 ids of one user",
    ours=WrkSpec("get.lua", "/notifications", ids_env("list100")),
    floor=WrkSpec("get.lua", "/notifications", ids_env("list100")),
    prepare=prepare_get,
    targets=(rps_at_least(0.6),),
)
LIST_100 = Scenario(
    name="list_100",
    measures="GET /notifications (page 1 of 20) for a user with 100 rows",
    ours=WrkSpec("path.lua", "/notifications", token_env("list100")),
    floor=WrkSpec("path.lua", "/notifications", token_env("list100")),
    prepare=prepare_list_small,
    targets=(rps_at_least(0.5),),
)
LIST_100K = Scenario(
    name="list_100k",
    measures="GET /notifications (page 1 of 20) for a user with 100 000 rows",
    ours=WrkSpec("path.lua", "/notifications", token_env("list100k")),
    floor=WrkSpec("path.lua", "/notifications", token_env("list100k")),
    prepare=prepare_list_large,
    targets=(rps_at_least(0.5), p99_vs_scenario("list_100", 1.5)),
)
PATCH = Scenario(
    name="patch",
    measures='PATCH /notifications/<id> {"title"}, cycling over 100 pending rows',
    ours=WrkSpec("patch.lua", "/notifications", ids_env("list100")),
    floor=WrkSpec("patch.lua", "/notifications", ids_env("list100")),
    prepare=prepare_patch,
)
CREATE = Scenario(
    name="create",
    measures="POST /notifications (email), no Idempotency-Key",
    ours=WrkSpec("create.lua", "/notifications", token_env("create")),
    floor=WrkSpec("create.lua", "/notifications", token_env("create")),
    prepare=prepare_create,
    targets=(rps_at_least(0.6), p99_at_most(2.0)),
)
LOGIN = Scenario(
    name="login",
    measures="POST /auth/login (ours) vs POST /hash: one argon2 verify (floor)",
    ours=WrkSpec("login.lua", "/auth/login", login_env),
    floor=WrkSpec("login.lua", "/hash", login_env),
    prepare=prepare_login,
    # Not "rps ≥ 0.9x floor": that lets the rest cost 11 % of one hash, so it moves with
    # the hash's price (docs/operations/performance.md, "Three figures on their lines").
    targets=(cpu_above_floor_at_most(4.0),),
)

# The same requests with an API key instead of an access token (the floor keeps its
# token): judged against the floor as their originals, and against the original itself.
GET_KEY = twin(
    GET,
    "get_key",
    "GET /notifications/<id> with an API key (twin of get)",
    ours=WrkSpec("get.lua", "/notifications", key_env("list100", with_ids=True)),
    prepare=prepare_get_key,
    targets=(*GET.targets, rps_vs_scenario("get", 0.9)),
)
CREATE_KEY = twin(
    CREATE,
    "create_key",
    "POST /notifications (email) with an API key (twin of create)",
    ours=WrkSpec("create.lua", "/notifications", key_env("create")),
    prepare=prepare_create_key,
    targets=(*CREATE.targets, rps_vs_scenario("create", 0.9)),
)

# Order matters: login last (it is CPU-bound and leaves argon2's 64 MiB behind in the
# allocator, if anything does), create after the lists (separate users anyway). Twins go
# next to their original; a scenario with its own ours_env restarts our API, so group
# those at the end to restart it once. `receipt` (its own ours_env: Twilio's token) is the
# exception: it is judged against `get`, so it runs beside it, after `get_key` (whose
# target is `get` too), and costs one restart more.
SCENARIO_LIST: tuple[Scenario, ...] = (
    EMPTY,
    GET,
    GET_KEY,
    RECEIPT,
    LIST_100,
    LIST_100K,
    CONSOLE_LIST,
    PATCH,
    CREATE,
    CREATE_KEY,
    CREATE_TEMPLATE,
    LOGIN,
)
SCENARIOS: dict[str, Scenario] = {s.name: s for s in SCENARIO_LIST}
