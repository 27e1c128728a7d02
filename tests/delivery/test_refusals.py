"""The one classifier of SMTP replies: which permanent refusals blame the recipient."""

from __future__ import annotations

import pytest

from delivery.providers.refusals import smtp_kind


@pytest.mark.parametrize(
    ("code", "reply", "stage", "kind"),
    [
        (550, "5.1.1 user unknown", "recipient", "target"),
        (550, "5.1.10 recipient address has null MX", "recipient", "target"),
        (554, "5.1.2 bad destination system address", "message", "target"),
        (550, "user unknown", "recipient", "target"),
        (551, "user not local; please try <a@b.example>", "recipient", "target"),
        (553, "mailbox name not allowed", "recipient", "target"),
        # The sender's own address (5.1.7, 5.1.8) is not the recipient's fault.
        (553, "5.1.8 sender address rejected: domain not found", "recipient", "message"),
        (550, "5.1.7 bad sender's mailbox address syntax", "sender", "message"),
        (550, "5.7.1 relaying denied", "recipient", "message"),
        (552, "5.2.3 message too big", "message", "message"),
        (554, "5.6.0 malformed content", "message", "message"),
        (550, "message content rejected", "message", "message"),  # 550 after DATA
        (550, "no such sender", "sender", "message"),
        (550, "5.1.1 sender unknown", "sender", "message"),  # MAIL: our sender, not them
        (552, "too many recipients", "recipient", "message"),
        (550, "5.1.1x is not an enhanced code", "message", "message"),
    ],
)
def test_smtp_refusals_blame_the_recipient_only_for_its_address(
    code: int, reply: str, stage: str, kind: str
) -> None:
    assert smtp_kind(code, reply, stage) == kind
