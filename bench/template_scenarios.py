"""Scenarios of sends through a template, judged against the plain create in the same run.

`create_template` stores the same notification as `create` (same title, same content,
same target), but through a template with three placeholders: the difference is the
template's lookup and rendering. The floor has no templates: it runs `create.lua`.
"""

from __future__ import annotations

from bench.context import Context, expect
from bench.scenario import Scenario, rps_vs_scenario
from bench.wrk import WrkSpec

ROLE = "create_template"
TEMPLATE = {
    "name": "Benchmark template",
    "channel": "email",
    "title": "Benchmark {{ kind }}",
    "content": "Hello from {{ sender }}: the {{ part }} of a benchmark {{ kind }}.",
}
VALUES = {"kind": "notification", "sender": "wrk", "part": "body"}


def prepare_create_template(ctx: Context) -> None:
    """User 'create_template' with one template, made through our API."""
    if ROLE in ctx.ids or ctx.ours is None:
        return
    headers = {"Authorization": f"Bearer {ctx.user(ROLE).token}"}
    r = ctx.http.post(f"{ctx.ours.base_url}/templates", json=TEMPLATE, headers=headers, timeout=30)
    expect(r, 201, "POST /templates")
    ctx.ids[ROLE] = [int(r.json()["id"])]
    body = {"template_id": ctx.ids[ROLE][0], "personalisation": VALUES, "target": "b@example.com"}
    r = ctx.http.post(f"{ctx.ours.base_url}/notifications", json=body, headers=headers, timeout=30)
    expect(r, 201, "POST /notifications with a template")


def template_env(ctx: Context) -> dict[str, str]:
    return {
        "BENCH_TOKEN": ctx.user(ROLE).token,
        "BENCH_TEMPLATE_ID": str(ctx.ids.get(ROLE, [0])[0]),
    }


CREATE_TEMPLATE = Scenario(
    name="create_template",
    measures="POST /notifications through a template with 3 placeholders (same text as create)",
    ours=WrkSpec("create_template.lua", "/notifications", template_env),
    floor=WrkSpec(
        "create.lua", "/notifications", lambda ctx: {"BENCH_TOKEN": ctx.user(ROLE).token}
    ),
    prepare=prepare_create_template,
    targets=(rps_vs_scenario("create", 0.9),),
)
