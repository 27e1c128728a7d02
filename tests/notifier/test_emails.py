"""The account email's one canonical form (notifier.emails), without a database."""

import pytest

from notifier import channels
from notifier.emails import canonical, lookup_form

# Every spelling of one address that a person may type: IDNA A-label and
# U-label, any case, padding, and a decomposed (NFD) umlaut.
BUECHER_SPELLINGS = [
    "user@bücher.de",
    "user@XN--BCHER-KVA.DE",
    "user@xn--bcher-kva.de",
    "  User@Bücher.DE  ",
    "USER@BÜCHER.DE",
    "user@bu\u0308cher.de",
]


@pytest.mark.parametrize("spelling", BUECHER_SPELLINGS)
def test_every_spelling_of_an_idn_address_has_one_canonical_form(spelling):
    assert canonical(spelling) == "user@bücher.de"
    assert lookup_form(spelling) == "user@bücher.de"


def test_canonical_refuses_what_is_not_an_address():
    for value in ["not-an-email", "a@b", "", "user@xn--zz.de"]:
        with pytest.raises(channels.ChannelError):
            canonical(value)


@pytest.mark.parametrize("value", ["not-an-email", " A@B ", "user@xn--zz.de", "Ünicode"])
def test_lookup_form_of_text_that_is_no_address_is_it_trimmed_and_lower_cased(value):
    assert lookup_form(value) == value.strip().lower()


# ASCII text without "xn--" skips the parser in lookup_form: these must come out
# as the parser's canonical form would (or as the fallback for non-addresses).
ASCII_CORPUS = [
    "ada@example.com",
    "  Ada.Lovelace+tag@Example.COM ",
    "POSTMASTER@EXAMPLE.COM",
    "abuse@Example.Org",
    "o'brien@sub.example.co.uk",
    "a!#$%&'*+/=?^_`{|}~-z@example.com",
    "user@EXAMPLE.com.",
    '"quoted"@example.com',
    "user@[127.0.0.1]",
    "Name <user@example.com>",
    "user@localhost",
    "user@example.test",
    "user@exa_mple.com",
    "a..b@example.com",
    "@example.com",
    "user@",
    "x" * 65 + "@example.com",
    "user@" + "a" * 64 + ".com",
]


@pytest.mark.parametrize("value", ASCII_CORPUS)
def test_the_ascii_shortcut_agrees_with_the_parser(value):
    try:
        expected = canonical(value)
    except channels.ChannelError:
        expected = value.strip().lower()
    assert lookup_form(value) == expected
