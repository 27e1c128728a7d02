"""An email target's check takes each domain's answer from the parser once
(`notifier.channels.email_address`): it must answer exactly what the parser answers
for the whole address, the same normalised form or the same refusal, cold or warm.

The reference is the rule as it was before the shortcut: its own checks (empty, too
long, control characters), then `email_validator.validate_email` on the trimmed text.
Tricky addresses first, then random ones built from the characters that matter to the
grammar.
"""

from __future__ import annotations

import random
import sys
import unicodedata

import email_validator
import pytest
from email_validator import rfc_constants

from notifier.channels import ChannelError, email_address, normalize_email, text

LONG_LABEL = "d" * 63

TRICKY = [
    # ordinary, case, padding, plus tags, subdomains
    "user@example.com",
    "Foo.Bar+tag@Sub.EXAMPLE.org",
    "  padded@example.com  ",
    "a!#$%&'*+/=?^_`{|}~-z@example.com",
    "o'brien@example.co.uk",
    # RFC 2142 role mailboxes: the parser lower-cases them, and only them
    "POSTMASTER@example.com",
    "Abuse@Example.Org",
    "WWW@example.com",
    "postmasters@example.com",
    "Info.desk@example.com",
    # IDN domains, A-labels and U-labels, decomposed input
    "user@bücher.de",
    "user@XN--BCHER-KVA.DE",
    "user@bu\u0308cher.de",
    "user@例え.jp",
    "user@xn--zz.de",
    "user@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",  # full-width EXAMPLE
    "user@example。com",
    # internationalised or quoted local parts (the parser's own path)
    "ü@exämple.com",
    "Ünïcödé@example.com",
    "u\u0308@example.com",
    '"quoted"@example.com',
    '"with space"@example.com',
    '"a@b"@example.com',
    '"esc\\"aped"@example.com',
    # dots
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "user@example.com.",
    "user@.example.com",
    "user@example..com",
    # missing or extra parts
    "",
    "plainaddress",
    "@example.com",
    "user@",
    "two@@example.com",
    "a@b@example.com",
    "user@example",
    "user@localhost",
    "user@site.test",
    "user@example.invalid",
    "user@[127.0.0.1]",
    "user@[IPv6:::1]",
    "Name <user@example.com>",
    "<user@example.com>",
    "a b@example.com",
    "user@exa mple.com",
    "user@exa_mple.com",
    "user@-example.com",
    "user@example-.com",
    "user@example.123",
    "user\uff20example.com",  # the full-width at-sign
    # too long: the local part, a label, the domain, the whole address in each form
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "x" * 241 + "@example.com",
    "x" * 242 + "@example.com",
    "user@" + LONG_LABEL + ".com",
    "user@" + LONG_LABEL + "d.com",
    "user@" + ".".join([LONG_LABEL] * 3) + ".com",
    "user@" + ".".join([LONG_LABEL] * 4) + ".com",
    "x" * 200 + "@" + "ü" * 40 + ".de",
    "x" * 180 + "@" + "ü" * 40 + ".de",
    "x" * 150 + "@" + "例" * 30 + ".jp",
]

# What the grammar turns on: atext, specials, dots, quotes, brackets, non-ASCII letters,
# a combining mark, full-width forms, spaces.
ALPHABET = "aZ9.-_+!#'`{}~@\"\\()<>[]:;, äü\u0308例\uff21\uff22。\uff20\t"
ATEXT = "aZ9.-_+!#'`{}~"  # mostly local parts the shortcut takes
DOMAINS = ["example.com", "Example.ORG", "bücher.de", "xn--bcher-kva.de", "a.b", "test", ""]


def _parser(value: str) -> tuple[str, str]:
    """The rule as it was before the shortcut: its own checks, then the parser."""
    if not value:
        return "refused", "An email address is required."
    if len(value) > 1024:
        return "refused", "The email address is too long."
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        return "refused", "The email address contains control or invalid characters."
    try:
        result = email_validator.validate_email(value.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        return "refused", f"The email address is not valid. {error}"
    return "accepted", result.normalized


def _ours(value: str) -> tuple[str, str]:
    try:
        return "accepted", normalize_email(value)
    except ChannelError as error:
        assert error.field == "target"
        return "refused", error.message


def _random_addresses(count: int) -> list[str]:
    chance = random.Random(20261205)
    found = []
    for _ in range(count):
        letters = ALPHABET if chance.random() < 0.5 else ATEXT
        local = "".join(chance.choice(letters) for _ in range(chance.randint(0, 8)))
        if chance.random() < 0.7:
            domain = chance.choice(DOMAINS)
        else:
            domain = "".join(chance.choice(ALPHABET) for _ in range(chance.randint(0, 10)))
        found.append(f"{local}@{domain}" if chance.random() < 0.9 else local + domain)
    return found


@pytest.mark.parametrize("value", TRICKY)
def test_a_tricky_address_gets_the_parsers_answer_cold_and_warm(value: str) -> None:
    email_address._domain.cache_clear()
    expected = _parser(value)
    assert _ours(value) == expected  # the domain not remembered yet
    assert _ours(value) == expected  # remembered


def test_random_addresses_get_the_parsers_answers() -> None:
    addresses = _random_addresses(4000)
    outcomes = [_ours(value) for value in addresses]
    assert {outcome for outcome, _ in outcomes} == {"accepted", "refused"}
    for value, outcome in zip(addresses, outcomes, strict=True):
        assert outcome == _parser(value), value


def test_a_domain_is_asked_about_once() -> None:
    email_address._domain.cache_clear()
    for number in range(50):
        normalize_email(f"person{number}@Example.com")
    info = email_address._domain.cache_info()
    assert (info.misses, info.hits) == (1, 49)


def test_the_shortcuts_rules_are_the_parsers() -> None:
    """Where the parser's own constants can be read, they are the shortcut's."""
    assert set(rfc_constants.CASE_INSENSITIVE_MAILBOX_NAMES) == email_address._ROLE_MAILBOXES
    assert email_address._MAX_ADDRESS_BYTES == rfc_constants.EMAIL_MAX_LENGTH
    for char in map(chr, range(128)):
        for sample in (char, f"a{char}b", f"a.{char}", f"{char}."):
            ours = email_address._DOT_ATOM.fullmatch(sample) is not None
            assert ours == (rfc_constants.DOT_ATOM_TEXT.match(sample) is not None), sample


def test_control_and_surrogate_ranges_are_unicodes_categories() -> None:
    """The regular expressions of `channels.text` hold Cc and Cs, nothing else."""
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        category = unicodedata.category(char)
        assert text.has_control_or_surrogate(char) == (category in ("Cc", "Cs")), hex(point)
        assert text.has_lone_surrogate(char) == (category == "Cs"), hex(point)
