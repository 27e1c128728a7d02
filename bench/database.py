"""The benchmark's own PostgreSQL database: created empty, migrated, dropped at the end.

Both benchmarks (bench/run.py, bench/delivery_bench.py) DROP the database they are given,
so its name must contain "bench": a typo cannot drop `test` or a helper's `wt_*` database.
`BENCH_PG_URL` names the server (default: postgres on 127.0.0.1:5432, trust auth).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg2
import psycopg2.extensions

from bench.paths import REPO_ROOT

PG = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
_SAFE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class Database:
    """One bench database on the server PG; `name` is checked before any DROP."""

    def __init__(self, name: str) -> None:
        if not _SAFE_NAME.fullmatch(name) or "bench" not in name:
            raise ValueError(
                f"database name {name!r}: lower-case letters, digits and _ only, and it "
                "must contain 'bench' (the benchmark drops it)"
            )
        self.name = name
        self.dsn = f"{PG}/{name}"

    @staticmethod
    def _admin(sql: str) -> None:
        # The maintenance database, only for CREATE/DROP DATABASE.
        _autocommit(psycopg2.connect(f"{PG}/postgres"), sql)

    def recreate(self) -> None:
        self.drop()
        self._admin(f"CREATE DATABASE {self.name}")

    def drop(self) -> None:
        # WITH (FORCE) ends sessions left by a crashed worker (PostgreSQL 13+).
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[bool]:
        """A server-wide advisory lock on this database's name, held for the block.

        Two runs on one name would drop each other's database; the second one gets False
        and should stop. The lock is a session's: it goes when the connection closes.
        """
        conn = psycopg2.connect(f"{PG}/postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.name,))
                (acquired,) = cur.fetchone() or (False,)
            yield bool(acquired)
        finally:
            conn.close()

    def connect(self) -> psycopg2.extensions.connection:
        return psycopg2.connect(self.dsn, options="-c timezone=UTC")

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self.connect()
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def outside_transaction(self, sql: str) -> None:
        """Run `sql` in autocommit (VACUUM and the like refuse a transaction block)."""
        _autocommit(self.connect(), sql)

    def migrate(self, env: Mapping[str, str]) -> None:
        """Build the schema with `flask --app wsgi db upgrade`: the migrations are the schema."""
        out = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=REPO_ROOT,
            env={**env, "DATABASE_URL": self.dsn},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if out.returncode != 0:
            raise RuntimeError(f"flask db upgrade failed:\n{out.stdout}\n{out.stderr}")


# For --floor-only runs: the tables the floor needs, without our migrations.
PROVISIONAL_SCHEMA = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    name varchar(100) NOT NULL,
    email varchar(320) NOT NULL UNIQUE,
    password_hash varchar(255) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title varchar(200) NOT NULL,
    content text NOT NULL,
    channel varchar(10) NOT NULL,
    target varchar(4096) NOT NULL,
    status varchar(10) NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    scheduled_at timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    sent_at timestamptz,
    error_message text,
    provider_message_id varchar(255),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_notifications_user_created ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX ix_notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
"""


def _autocommit(conn: psycopg2.extensions.connection, sql: str) -> None:
    """Run `sql` outside a transaction on `conn`, then close it."""
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()
