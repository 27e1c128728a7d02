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
from datetime import datetime
from typing import Any

import jwt
import psycopg2
import psycopg2.extensions
from argon2 import PasswordHasher
from flask import Flask, Response, abort, jsonify, request

from bench.floor_schema import inspect_schema

HASH_PASSWORD = "floor-password-1234"  # noqa: S105 - a benchmark constant, not a secret
PAGE_SIZE = 20


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


def argon2_hasher() -> PasswordHasher:
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

    hasher = argon2_hasher()
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
