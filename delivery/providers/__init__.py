"""The providers behind ``POST /deliver``: one per channel, chosen at start.

``EMAIL_PROVIDER`` (``simulator`` or ``smtp``), ``SMS_PROVIDER`` (``simulator`` or
``twilio``) and ``PUSH_PROVIDER`` (``simulator`` or ``fcm``) pick them; each module
of this package is one provider (see :mod:`delivery.providers.base` for what they
share). A provider chosen without its settings raises
:class:`~delivery.providers.base.ProviderSettingsError` from :func:`register_providers`,
so the service stops at start with a one-line reason instead of failing on the
first message.

:class:`Gateway` is the one path of every delivery: the channel rules first (a
broken message is a 422 whatever the provider), then the simulator when the
request says ``"sandbox": true``, else the channel's provider.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from delivery.idempotency import Answer
from delivery.providers.base import (
    Delivery,
    Provider,
    ProviderSettingsError,
    public_base_url,
    unavailable,
)
from delivery.providers.refusals import invalid
from delivery.providers.simulator import SimulatorProvider
from delivery.rules import check_message
from notifier.channels import EMAIL, PUSH, SMS, ChannelError

__all__ = ["Gateway", "ProviderSettingsError", "build_gateway", "gateway", "register_providers"]

log = logging.getLogger("delivery.providers")

GATEWAY_EXTENSION = "delivery_gateway"
PROVIDER_SETTINGS = {EMAIL: "EMAIL_PROVIDER", SMS: "SMS_PROVIDER", PUSH: "PUSH_PROVIDER"}

Factory = Callable[[Mapping[str, Any]], Provider]


def _smtp(config: Mapping[str, Any]) -> Provider:
    from delivery.providers.smtp import SmtpProvider

    return SmtpProvider.from_config(config)


def _twilio(config: Mapping[str, Any]) -> Provider:
    from delivery.providers.twilio import TwilioProvider

    return TwilioProvider.from_config(config)


def _fcm(config: Mapping[str, Any]) -> Provider:
    from delivery.providers.fcm import FcmProvider

    return FcmProvider.from_config(config)


# Imported on demand: a service that only simulates never loads google-auth or smtplib.
FACTORIES: dict[str, dict[str, Factory]] = {
    EMAIL: {"smtp": _smtp},
    SMS: {"twilio": _twilio},
    PUSH: {"fcm": _fcm},
}


@dataclass
class Gateway:
    """The provider of each channel, and the simulator for sandbox requests."""

    providers: dict[str, Provider]
    simulator: Provider

    def deliver(self, message: Mapping[str, Any]) -> Answer:
        """Check the channel's rules, then hand the message to its provider."""
        channel = message["channel"]
        try:
            checked = check_message(
                channel, message["target"], message.get("title"), message["content"]
            )
        except ChannelError as exc:
            return invalid(exc.message, exc.field)

        delivery = Delivery(
            channel=channel,
            target=checked.target,
            title=message.get("title"),
            content=message["content"],
            details=checked.details,
            list_unsubscribe=message.get("list_unsubscribe"),
        )
        provider = self.provider_for(message)
        try:
            return provider.send(delivery)
        except Exception:
            # Providers map every failure they know; anything else is our bug, and the
            # message is not at fault: retryable, and logged with its traceback.
            log.exception("the %s provider failed on a %s delivery", provider.name, channel)
            return unavailable(
                f"The {provider.name} provider failed unexpectedly; try again later."
            )

    def provider_for(self, message: Mapping[str, Any]) -> Provider:
        """The simulator for a sandbox message, else the channel's provider."""
        return self.simulator if message.get("sandbox") else self.providers[message["channel"]]

    def close(self) -> None:
        """Release every provider's connections."""
        for provider in {id(p): p for p in [*self.providers.values(), self.simulator]}.values():
            provider.close()


def build_gateway(config: Mapping[str, Any]) -> Gateway:
    """Build each channel's provider from ``config``; raise when a setting is missing."""
    simulator = SimulatorProvider()
    # Checked whatever the providers: a bad value is refused at start, not when first used.
    public_base_url(config)
    providers: dict[str, Provider] = {}
    for channel, setting in PROVIDER_SETTINGS.items():
        choice = str(config.get(setting) or "simulator").strip().lower()
        if choice == simulator.name:
            providers[channel] = simulator
            continue
        factory = FACTORIES[channel].get(choice)
        if factory is None:
            allowed = ", ".join([simulator.name, *FACTORIES[channel]])
            raise ProviderSettingsError(f"{setting} must be one of {allowed}; got {choice!r}")
        providers[channel] = factory(config)
    return Gateway(providers, simulator)


def register_providers(app: Flask) -> None:
    """Build the app's gateway (one per app); a missing setting stops the app here."""
    app.extensions[GATEWAY_EXTENSION] = build_gateway(app.config)


def gateway() -> Gateway:
    """The current app's gateway."""
    return current_app.extensions[GATEWAY_EXTENSION]
