"""The rules that tie a notification body's fields together, for the OpenAPI document.

The API checks them in code (`notifier.channels`, the send schema's
`_message_or_template`); these JSON Schema forms say the same to clients and
generators, merged into the schemas by `notifier.openapi` (`OPENAPI`).
"""

from __future__ import annotations

from notifier import channels

# Which target each channel takes, for the OpenAPI document (the API checks it with
# notifier.channels). E.164 is the form stored; the API also takes spaces, dashes,
# dots and parentheses, and checks the number is a real one, which no pattern can say.
TARGET_BY_CHANNEL = {
    channels.EMAIL: {"format": "email"},
    channels.SMS: {"pattern": r"^\+[1-9][0-9]{6,14}$"},
    channels.PUSH: {
        "pattern": r"^[A-Za-z0-9_:.\-]"
        f"{{{channels.PUSH_TOKEN_MIN_LENGTH},{channels.PUSH_TOKEN_MAX_LENGTH}}}$"
    },
}
# A body naming a channel and a target pairs them right (a PATCH may name one of
# them). Inside allOf: client generators keep the plain model beside the rule.
PER_CHANNEL = {
    "allOf": [
        {
            "anyOf": [
                {"properties": {"channel": {"enum": [channel]}, "target": target}}
                for channel, target in TARGET_BY_CHANNEL.items()
            ]
        }
    ]
}
MESSAGE_FIELDS = ("title", "content", "channel")
TEMPLATE_FIELDS = ("template_id", "template_version", "personalisation")


def _none_of(names) -> dict:
    return {"not": {"anyOf": [{"required": [name]} for name in names]}}


# POST takes a message written out or a template, never both (see _message_or_template).
SEND_FORMS = {
    "allOf": [
        *PER_CHANNEL["allOf"],
        {
            "oneOf": [
                {"required": list(MESSAGE_FIELDS), **_none_of(TEMPLATE_FIELDS)},
                {"required": ["template_id"], **_none_of(MESSAGE_FIELDS)},
            ]
        },
    ]
}
