"""Twilio's signed status callbacks, judged against our `get` in the same run.

`receipt` is `POST /receipts/twilio`: a form that Twilio signs with `X-Twilio-Signature`
(base64 HMAC-SHA1, keyed with the auth token, over PUBLIC_BASE_URL + path + every
parameter's name and value sorted by name). The signature is computed here from Twilio's
documented algorithm, not with the API's own code, so a bench that runs is also a check
that the two agree.

Every request is a **first** receipt: `delivered` for a distinct sms notification that is
`sent` with its provider message id, so each one runs the whole transaction (find and lock
the row, the compare-and-set to `delivered`, the webhook outbox check, the counters'
trigger). Each wrk run (warm-up or measured) gets its own slice of never-used rows, sized
for CEILING_RPS requests a second; a run faster than that would start its slice over, and
those repeats (idempotent no-ops, cheaper) are noted in the report. The floor has no
receipts: the target compares us with our own `get`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from bench.context import Context, expect
from bench.paths import RESULTS_DIR
from bench.runner import run_wrk_pair
from bench.scenario import Scenario, ScenarioResult, rps_vs_scenario
from bench.wrk import WrkSpec

ROLE = "receipt"
PATH = "/receipts/twilio"
# Our API runs this scenario with these two settings (a restart before and after it);
# the auth token is new for every run, like the JWT secret.
AUTH_TOKEN = secrets.token_hex(16)
PUBLIC_BASE_URL = "https://notifier.bench.example"
# Rows provisioned per second of each wrk run; a receipt is a write, below `get`'s rate.
CEILING_RPS = 2500
SMS_TARGET = "+15555550100"
REQUESTS_FILE = RESULTS_DIR / "receipt-requests.txt"
POOL = "receipt_pool"  # ctx.ids[POOL] = [next unused number, numbers inserted so far]


def message_sid(number: int) -> str:
    """The provider message id of pool row `number`, shaped like a Twilio SMS sid."""
    return f"SM{number:032d}"


def sign(params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature, as Twilio documents it."""
    data = PUBLIC_BASE_URL + PATH + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def callback(number: int) -> tuple[str, str]:
    """(signature, form body) of Twilio's `delivered` callback for pool row `number`."""
    sid = message_sid(number)
    params = {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "From": "+15005550006",
        "MessageSid": sid,
        "MessageStatus": "delivered",
        "SmsSid": sid,
        "SmsStatus": "delivered",
        "To": SMS_TARGET,
    }
    return sign(params), urlencode(params)


def insert_sent(ctx: Context, first: int, last: int) -> None:
    """Sent sms rows `first`..`last` of the receipt user, each with its message sid."""
    assert ctx.schema is not None
    columns = {
        "user_id": "%s",
        "title": "'Bench SMS ' || g",
        "content": "'Your benchmark code is ' || g",
        "channel": "'sms'",
        "target": f"'{SMS_TARGET}'",
        "status": "'sent'",
        "attempts": "1",
        "next_attempt_at": "now()",
        "created_at": "now()",
        "updated_at": "now()",
        "sent_at": "now()",
        "provider_message_id": "'SM' || lpad(g::text, 32, '0')",
        **ctx.schema.fillers,
    }
    ctx.db.execute(
        f"INSERT INTO notifications ({', '.join(columns)}) "
        f"SELECT {', '.join(columns.values())} FROM generate_series(%s, %s) AS g",
        (ctx.user(ROLE).id, first, last),
    )
    ctx.ids[POOL][1] = last


def vacuum(ctx: Context) -> None:
    """VACUUM ANALYZE notifications: settled rows before the load, no dead ones after it."""
    ctx.db.outside_transaction("VACUUM ANALYZE notifications")


def slice_size(ctx: Context) -> int:
    return CEILING_RPS * max(ctx.wrk.duration_s, ctx.wrk.warmup_s)


def prepare_receipt(ctx: Context) -> None:
    """Every run's rows inserted up front (warm-ups included), then one smoke callback."""
    if ctx.ours is None or POOL in ctx.ids:
        return
    ctx.ids[POOL] = [2, 0]
    runs = ctx.args.repeat * (2 if ctx.wrk.warmup_s else 1)
    insert_sent(ctx, 1, 1 + runs * slice_size(ctx))
    vacuum(ctx)
    signature, body = callback(1)
    r = ctx.http.post(
        f"{ctx.ours.base_url}{PATH}",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        timeout=30,
    )
    expect(r, 204, f"POST {PATH}")
    ((status,),) = ctx.db.execute(
        "SELECT status FROM notifications WHERE provider_message_id = %s", (message_sid(1),)
    )
    if status != "delivered":
        raise RuntimeError(f"the smoke callback left its notification {status!r}")


def receipt_env(ctx: Context) -> dict[str, str]:
    """A fresh slice of the pool for one wrk run, written as signed requests."""
    first, inserted = ctx.ids[POOL]
    last = first + slice_size(ctx) - 1
    if last > inserted:  # more runs than prepared for (a profile, say): top the pool up
        insert_sent(ctx, inserted + 1, last)
    ctx.ids[POOL][0] = last + 1
    REQUESTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with REQUESTS_FILE.open("w") as out:
        for number in range(first, last + 1):
            out.write("\t".join(callback(number)) + "\n")
    return {"BENCH_REQUESTS": str(REQUESTS_FILE), "BENCH_THREADS": str(ctx.wrk.threads)}


def run_receipt(ctx: Context, scenario: Scenario) -> ScenarioResult:
    """The wrk runs, then a check that they were first receipts, then VACUUM."""
    result = run_wrk_pair(ctx, scenario)
    used = ctx.ids[POOL][0] - 2
    ((delivered,),) = ctx.db.execute(
        "SELECT count(*) FROM notifications WHERE user_id = %s AND status = 'delivered'",
        (ctx.user(ROLE).id,),
    )
    delivered -= 1  # the smoke callback's
    fastest = max(result.ours.rps_runs) if result.ours else 0
    ctx.notes.append(
        f"receipt: {delivered} notifications moved sent → delivered under load, from "
        f"{used} provisioned ({slice_size(ctx)} per wrk run, {CEILING_RPS}/s)"
        + (
            f"; the fastest run ({fastest:.0f}/s) outran its slice: some of its requests "
            "were repeats (no-ops)"
            if fastest * ctx.wrk.duration_s > slice_size(ctx)
            else "; every request was a first receipt"
        )
    )
    vacuum(ctx)
    return result


RECEIPT = Scenario(
    name="receipt",
    measures=f"POST {PATH}: Twilio's signed `delivered` callback, each for a distinct sent sms",
    ours=WrkSpec("receipt.lua", PATH, receipt_env),
    prepare=prepare_receipt,
    run=run_receipt,
    # A receipt is a write (three statements, the counters' trigger, a commit): why the line
    # sits where it does, with the figures, is in docs/operations/performance.md.
    targets=(rps_vs_scenario("get", 0.25),),
    ours_env={"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": PUBLIC_BASE_URL},
)
