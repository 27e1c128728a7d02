"""factory_boy factories bound to the app's session; they commit."""

from __future__ import annotations

import uuid

import factory
from factory.alchemy import SQLAlchemyModelFactory

from notifier.auth.passwords import hash_password
from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.models import DeliveryAttempt, Notification
from notifier.users.models import User


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


PASSWORD = "correct horse battery staple"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    name = factory.Sequence(lambda n: f"User {n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))


class NotificationFactory(BaseFactory):
    class Meta:
        model = Notification

    user_id = factory.LazyFunction(lambda: UserFactory().id)
    title = factory.Sequence(lambda n: f"Notification {n}")
    content = "Hello there"
    channel = "email"
    target = factory.Sequence(lambda n: f"person{n}@example.com")
    status = "pending"
    attempts = 0
    version = 1
    delivery_key = factory.LazyFunction(lambda: uuid.uuid4().hex)
    next_attempt_at = factory.LazyFunction(utcnow)


class DeliveryAttemptFactory(BaseFactory):
    class Meta:
        model = DeliveryAttempt

    number = factory.Sequence(lambda n: n + 1)
    started_at = factory.LazyFunction(utcnow)
    finished_at = factory.LazyFunction(utcnow)
    outcome = "unavailable"
    http_status = 503
    error = "Provider unavailable"
    duration_ms = 12
