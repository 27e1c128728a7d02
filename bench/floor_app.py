"""The floor: the least work a server can do for each endpoint of our API.

Each notification endpoint decodes the bearer JWT (PyJWT, same secret, HS256) and runs
exactly one SQL statement through a plain psycopg2 connection in autocommit mode. There is
no validation, no ORM, no error shape: whatever our API costs above this is the price of its
features. `POST /hash` is the login floor (one argon2 verify with the production
parameters); `GET /empty` is the bare cost of Flask under gunicorn.

Run it with the same gunicorn settings as our API:

    gunicorn -c gunicorn.conf.py 'bench.floor_app:create_app()' -b 127.0.0.1:8100

Environment: `DATABASE_URL` (PostgreSQL) and `JWT_SECRET_KEY`, the same values as our API.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import psycopg2
import psycopg2.extensions
from argon2 import PasswordHasher
from flask import Flask, Response, abort, jsonify, request

# The columns the floor INSERT supplies; everything else must have a server default.
INSERT_COLUMNS = (
    "user_id",
    "title",
    "content",
    "channel",
    "target",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)

# NOT NULL columns our models fill in Python (no server default) that the floor knows how
# to fill in SQL, as the model would: an edit counter and the provider idempotency key.
# Used only when the column is NOT NULL without a default; any other such column is an error.
FILLERS = {
    "version": "1",
    "delivery_key": "md5(random()::text)",
}

# The notification as the contract shows it (API.md); missing columns are skipped.
OUTPUT_COLUMNS = (
    "id",
    "user_id",
    "title",
    "content",
    "channel",
    "target",
    "status",
    "attempts",
    "scheduled_at",
    "sent_at",
    "error_message",
    "provider_message_id",
    "created_at",
    "updated_at",
)

HASH_PASSWORD = "floor-password-1234"  # noqa: S105 - a benchmark constant, not a secret
PAGE_SIZE = 20


class SchemaError(RuntimeError):
    """The notifications table cannot take the floor's INSERT."""


@dataclass(frozen=True)
class FloorSchema:
    """What the floor learned about the notifications table at start-up."""

    output_columns: tuple[str, ...]
    fillers: dict[str, str]

    @property
    def select_list(self) -> str:
        return ", ".join(self.output_columns)

    def insert_sql(self, values: dict[str, str], select_from: str = "") -> str:
        """INSERT INTO notifications: INSERT_COLUMNS from `values` (SQL), plus the fillers.

        With select_from, an INSERT ... SELECT (bulk) instead of INSERT ... VALUES.
        """
        columns = {**{c: values[c] for c in INSERT_COLUMNS}, **self.fillers}
        names, exprs = ", ".join(columns), ", ".join(columns.values())
        if select_from:
            return f"INSERT INTO notifications ({names}) SELECT {exprs} FROM {select_from}"
        return f"INSERT INTO notifications ({names}) VALUES ({exprs}) RETURNING {self.select_list}"


def inspect_schema(conn: psycopg2.extensions.connection) -> FloorSchema:
    """Read the notifications columns and check the floor INSERT can fill every NOT NULL one.

    Raises SchemaError naming the NOT NULL columns that have no server default and are not
    in INSERT_COLUMNS (a Python-side default in the ORM does not help a plain INSERT).
    """
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT column_name, is_nullable, column_default, is_identity
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'notifications'
            ORDER BY ordinal_position
            """
        )
        rows = cur.fetchall()
    if not rows:
        raise SchemaError("table 'notifications' does not exist in this database")
    names = {name for name, *_ in rows}
    missing = [c for c in INSERT_COLUMNS if c not in names]
    if missing:
        raise SchemaError(f"notifications lacks columns the floor INSERT needs: {missing}")
    no_default = [
        name
        for name, nullable, default, identity in rows
        if nullable == "NO"
        and default is None
        and identity != "YES"
        and name not in INSERT_COLUMNS
        and name != "id"
    ]
    unfillable = [name for name in no_default if name not in FILLERS]
    if unfillable:
        raise SchemaError(
            "notifications has NOT NULL columns without a server default that the floor "
            f"INSERT does not supply: {unfillable}. Give them a server_default in the "
            "migration, or teach bench/floor_app.py FILLERS how to fill them."
        )
    return FloorSchema(
        output_columns=tuple(c for c in OUTPUT_COLUMNS if c in names),
        fillers={name: FILLERS[name] for name in no_default},
    )


class ConnectionPool:
    """A blocking pool of autocommit psycopg2 connections, opened lazily, per process.

    A queue (not psycopg2.pool, which raises when empty) so that threaded or gevent
    workers wait for a free connection. Reopened after a fork (preload_app).
    """

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._size = size
        self._pid = -1
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[psycopg2.extensions.connection] = queue.LifoQueue()
        self._opened = 0

    def _reset_after_fork(self) -> None:
        self._pid = os.getpid()
        self._idle = queue.LifoQueue()
        self._opened = 0

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        conn = self._acquire()
        broken = False
        try:
            yield conn
        except psycopg2.Error:
            broken = True
            raise
        finally:
            if broken or conn.closed:
                # A broken connection is replaced rather than handed out again.
                conn.close()
                with self._lock:
                    self._opened -= 1
            else:
                self._idle.put(conn)

    def _acquire(self) -> psycopg2.extensions.connection:
        while True:
            with self._lock:
                if self._pid != os.getpid():
                    self._reset_after_fork()
                try:
                    return self._idle.get_nowait()
                except queue.Empty:
                    if self._opened < self._size:
                        self._opened += 1
                        break
            try:
                # Wait outside the lock; loop in case a broken connection freed a slot.
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue
        try:
            return self._open()
        except BaseException:
            with self._lock:
                self._opened -= 1
            raise

    def _open(self) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(self._dsn, options="-c timezone=UTC")
        conn.autocommit = True
        return conn


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _argon2_hasher() -> PasswordHasher:
    """A hasher with the production parameters read from the repository's config.py."""
    from config import BaseConfig  # imported late: config.py reads the environment

    return PasswordHasher(
        time_cost=BaseConfig.PASSWORD_HASH_TIME_COST,
        memory_cost=BaseConfig.PASSWORD_HASH_MEMORY_KIB,
        parallelism=BaseConfig.PASSWORD_HASH_PARALLELISM,
    )


def create_app() -> Flask:
    """Build the floor app from DATABASE_URL and JWT_SECRET_KEY."""
    dsn = os.environ["DATABASE_URL"]
    secret = os.environ["JWT_SECRET_KEY"]
    pool = ConnectionPool(dsn, size=int(os.environ.get("FLOOR_DB_POOL", "10")))

    conn = psycopg2.connect(dsn)
    try:
        schema = inspect_schema(conn)
    finally:
        conn.close()
    cols = schema.select_list
    insert_sql = schema.insert_sql(
        {
            "user_id": "%s",
            "title": "%s",
            "content": "%s",
            "channel": "%s",
            "target": "%s",
            "status": "'pending'",
            "attempts": "0",
            "next_attempt_at": "now()",
            "created_at": "now()",
            "updated_at": "now()",
        }
    )
    get_sql = f"SELECT {cols} FROM notifications WHERE id = %s AND user_id = %s"
    list_sql = (
        f"SELECT {cols} FROM notifications WHERE user_id = %s "
        f"ORDER BY created_at DESC, id DESC LIMIT {PAGE_SIZE}"
    )
    patch_sql = (
        "UPDATE notifications SET title = %s, updated_at = now() "
        f"WHERE id = %s AND user_id = %s RETURNING {cols}"
    )

    hasher = _argon2_hasher()
    known_hash = hasher.hash(HASH_PASSWORD)

    app = Flask(__name__)

    def user_id() -> int:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            abort(401)
        try:
            claims = jwt.decode(header[7:], secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            abort(401)
        if claims.get("type") != "access":
            abort(401)
        return int(claims["sub"])

    def one(sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        with pool.connection() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
            if row is None:
                return None
            names = [d[0] for d in cur.description]
        return _jsonable(dict(zip(names, row, strict=True)))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/empty")
    def empty() -> dict[str, Any]:
        return {}

    @app.post("/hash")
    def hash_once() -> dict[str, Any]:
        hasher.verify(known_hash, HASH_PASSWORD)
        return {}

    @app.post("/notifications")
    def create() -> tuple[Response, int, dict[str, str]]:
        uid = user_id()
        body = request.get_json()
        row = one(
            insert_sql,
            (uid, body["title"], body["content"], body["channel"], body["target"]),
        )
        assert row is not None
        return jsonify(row), 201, {"Location": f"/notifications/{row['id']}"}

    @app.get("/notifications")
    def list_page() -> Response:
        uid = user_id()
        with pool.connection() as conn, conn.cursor() as cur:
            cur.execute(list_sql, (uid,))
            names = [d[0] for d in cur.description]
            rows = [_jsonable(dict(zip(names, r, strict=True))) for r in cur.fetchall()]
        return jsonify(rows)

    @app.get("/notifications/<int:nid>")
    def get_one(nid: int) -> dict[str, Any]:
        row = one(get_sql, (nid, user_id()))
        if row is None:
            abort(404)
        return row

    @app.patch("/notifications/<int:nid>")
    def patch(nid: int) -> dict[str, Any]:
        uid = user_id()
        body = request.get_json()
        row = one(patch_sql, (body["title"], nid, uid))
        if row is None:
            abort(404)
        return row

    return app
