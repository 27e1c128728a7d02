"""Suppressions: targets that are not sent to again (bounced, refused, unsubscribed)."""
