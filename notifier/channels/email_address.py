"""Email addresses: checked and normalised by ``email_validator``, each domain once.

Surrounding whitespace is trimmed, the domain is lower-cased (and IDNA
normalised) by ``email_validator``; the local part keeps its case. Syntax only:
no DNS lookups, so ``example.com`` addresses are fine. Control characters (NUL,
CR, LF, tab...) are refused outright.

Why each domain once: the parser costs about 30 µs an address, most of it in
the domain (IDNA) and in splitting the text, and a batch of 50 000 recipients
names a handful of domains. So an address whose local part is plain ASCII (the
RFC 5322 dot-atom: the parser's first and cheapest case, which it returns
unchanged) takes its domain's answer from a bounded cache of the parser's own
answers (`_domain`, which asks it about ``a@<domain>``), and applies the two
things the parser does besides: RFC 2142 role mailboxes (``Postmaster``...) in
lower case, and the 254-byte limit on the address as given, normalised and in
ASCII. Everything else (a quoted or non-ASCII local part, a domain the parser
refuses, an address over a limit) is handed to the parser whole, so every
refusal is the parser's own message. A test runs both paths over tricky
addresses and random ones and holds them to the same answers.
"""

from __future__ import annotations

import functools
import re

import email_validator

from notifier.channels.errors import ChannelError
from notifier.channels.text import has_control_or_surrogate

# Longer inputs are refused before the parser sees them: no real address comes
# close, and it keeps the cost of a hostile 256 KiB target flat.
MAX_INPUT_LENGTH = 1024

# RFC 5322 3.2.3: atext, in dot-separated runs (the unquoted local part).
_ATEXT = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"
_DOT_ATOM = re.compile(f"[{_ATEXT}]+(?:\\.[{_ATEXT}]+)*")
# RFC 2142: mailbox names that are case-insensitive; the parser lower-cases them.
_ROLE_MAILBOXES = frozenset(
    {
        "info",
        "marketing",
        "sales",
        "support",
        "abuse",
        "noc",
        "security",
        "postmaster",
        "hostmaster",
        "usenet",
        "news",
        "webmaster",
        "www",
        "uucp",
        "ftp",
    }
)
# RFC 5321 4.5.3.1.3 with RFC 3696 errata 1690: octets in an address.
_MAX_ADDRESS_BYTES = 254
# Distinct domains remembered per process (each entry is a domain and its two forms).
_DOMAINS_REMEMBERED = 4096


def normalize_email(value: str) -> str:
    """Validate an email address and return its normalised form (see the module doc)."""
    if not isinstance(value, str) or not value:
        raise ChannelError("target", "An email address is required.")
    if len(value) > MAX_INPUT_LENGTH:
        raise ChannelError("target", "The email address is too long.")
    if has_control_or_surrogate(value):
        raise ChannelError("target", "The email address contains control or invalid characters.")
    candidate = value.strip()
    return _known_domain(candidate) or _parsed(candidate)


def _parsed(candidate: str) -> str:
    """The parser's answer for the whole address."""
    try:
        result = email_validator.validate_email(candidate, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ChannelError("target", f"The email address is not valid. {exc}") from None
    return result.normalized


def _known_domain(candidate: str) -> str | None:
    """The parser's answer for an ASCII dot-atom local part at a domain it accepts,
    built from its answer for the domain; None for anything else (ask the parser)."""
    local, at, domain = candidate.partition("@")
    if not at or "@" in domain or not _DOT_ATOM.fullmatch(local):
        return None
    forms = _domain(domain)
    if forms is None:
        return None
    unicode_domain, ascii_domain = forms
    if local.lower() in _ROLE_MAILBOXES:
        local = local.lower()
    normalized = f"{local}@{unicode_domain}"
    for address in (candidate, normalized, f"{local}@{ascii_domain}"):
        if len(address.encode("utf-8")) > _MAX_ADDRESS_BYTES:
            return None
    return normalized


@functools.lru_cache(maxsize=_DOMAINS_REMEMBERED)
def _domain(domain: str) -> tuple[str, str] | None:
    """(Unicode form, ASCII form) of a domain the parser accepts; None if it refuses it."""
    try:
        result = email_validator.validate_email(f"a@{domain}", check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    return result.domain, result.ascii_domain
