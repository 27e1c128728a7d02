"""The console's activity list, judged against the API's list in the same run.

`console_list` is `GET /console/notifications` (page 1, the HTML page) for the user of
`list_100k` (100 000 rows), signed in through the console's form: the same list service
as `GET /notifications`, plus the session check and the page's rendering. The floor has
no console; the target compares it with our `list_100k`.
"""

from __future__ import annotations

import json
import re

from bench.context import Context, expect
from bench.scenario import Scenario, rps_vs_scenario
from bench.wrk import WrkSpec

ROLE = "list100k"
COOKIES = "console_cookies"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(ctx: Context) -> str:
    """The session cookie of the console, signed in as the role's user."""
    assert ctx.ours is not None
    user = ctx.user(ROLE)
    base = ctx.ours.base_url
    page = ctx.http.get(f"{base}/console/login", timeout=30)
    expect(page, 200, "GET /console/login")
    token = _TOKEN.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    cookies = {"session": page.cookies["session"]}
    form = {"email": user.email, "password": user.password, "csrf_token": token.group(1)}
    r = ctx.http.post(
        f"{base}/console/login", data=form, cookies=cookies, allow_redirects=False, timeout=30
    )
    expect(r, 302, "POST /console/login")
    return r.cookies["session"]


def _ensure_rows(ctx: Context) -> None:
    """The 100 000 rows of `list_100k`, when that scenario has not inserted them."""
    from bench.scenarios import LIST_LARGE, prepare_list_large

    user = ctx.user(ROLE)
    r = ctx.http.get(
        f"{ctx.primary.base_url}/notifications",
        headers={"Authorization": f"Bearer {user.token}"},
        timeout=30,
    )
    expect(r, 200, "GET /notifications")
    if json.loads(r.headers["X-Pagination"])["total"] < LIST_LARGE:
        prepare_list_large(ctx)


def prepare_console_list(ctx: Context) -> None:
    if ctx.ours is None:
        return
    _ensure_rows(ctx)
    if COOKIES not in ctx.ids:
        ctx.ids[COOKIES] = [_sign_in(ctx)]
    r = ctx.http.get(
        f"{ctx.ours.base_url}/console/notifications",
        cookies={"session": ctx.ids[COOKIES][0]},
        allow_redirects=False,
        timeout=30,
    )
    expect(r, 200, "GET /console/notifications")


def console_env(ctx: Context) -> dict[str, str]:
    cookie = ctx.ids.get(COOKIES, [""])[0]
    return {"BENCH_AUTH_HEADER": "Cookie", "BENCH_TOKEN": f"session={cookie}"}


CONSOLE_LIST = Scenario(
    name="console_list",
    measures="GET /console/notifications (HTML, page 1 of 20) for the user with 100 000 rows",
    ours=WrkSpec("path.lua", "/console/notifications", console_env),
    prepare=prepare_console_list,
    targets=(rps_vs_scenario("list_100k", 0.5),),
)
