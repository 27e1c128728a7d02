"""The run's shared state: options, database, servers, users and their data, notes.

Users are made on first use, through our API (POST /users, POST /auth/login) when it runs,
else directly in SQL with a token the floor accepts (same secret, `sub` = user id).
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import requests
from argon2 import PasswordHasher

from bench.database import Database
from bench.floor_schema import FloorSchema
from bench.processes import Processes
from bench.servers import Server
from bench.wrk import WrkOptions


@dataclass(frozen=True)
class BenchUser:
    id: int
    email: str
    password: str
    token: str


@dataclass
class Context:
    """Everything a scenario needs: servers, users, ids, options, and the process manager."""

    args: argparse.Namespace
    wrk: WrkOptions
    db: Database
    procs: Processes
    secret: str
    schema: FloorSchema | None = None
    ours: Server | None = None
    floor: Server | None = None
    users: dict[str, BenchUser] = field(default_factory=dict)
    # (scenario, server name, pid, VmRSS MiB, VmHWM MiB), taken after each scenario
    rss: list[tuple[str, str, int, float, float]] = field(default_factory=list)
    # servers whose PostgreSQL sessions were found by application_name (PGAPPNAME)
    pg_sessions_seen: set[str] = field(default_factory=set)
    ids: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    http: requests.Session = field(default_factory=requests.Session)
    # the extra environment our API runs with now (a scenario's ours_env)
    ours_env: Mapping[str, str] = field(default_factory=dict)
    # an API key per role, made through our API on first use (the *_key scenarios)
    api_keys: dict[str, str] = field(default_factory=dict)

    @property
    def primary(self) -> Server:
        """The server that creates data: ours, or the floor in --floor-only runs."""
        server = self.ours or self.floor
        assert server is not None
        return server

    def servers(self) -> list[Server]:
        return [s for s in (self.ours, self.floor) if s is not None]

    def user(self, role: str) -> BenchUser:
        """A user for one role, created on first use (through our API when it runs)."""
        if role not in self.users:
            email = f"bench-{role}-{secrets.token_hex(3)}@example.com"
            password = f"bench-pw-{secrets.token_hex(8)}"
            make = self._user_via_api if self.ours else self._user_via_sql
            self.users[role] = make(role, email, password)
        return self.users[role]

    def _user_via_api(self, role: str, email: str, password: str) -> BenchUser:
        base = self.primary.base_url
        r = self.http.post(
            f"{base}/users",
            json={"name": f"Bench {role}", "email": email, "password": password},
            timeout=30,
        )
        expect(r, 201, "POST /users")
        user_id = int(r.json()["id"])
        r = self.http.post(
            f"{base}/auth/login", json={"email": email, "password": password}, timeout=30
        )
        expect(r, 200, "POST /auth/login")
        return BenchUser(user_id, email, password, r.json()["access_token"])

    def _user_via_sql(self, role: str, email: str, password: str) -> BenchUser:
        # Nobody verifies these passwords (the floor's /hash uses its own), so hash cheaply.
        pw_hash = PasswordHasher(time_cost=1, memory_cost=64).hash(password)
        ((user_id,),) = self.db.execute(
            "INSERT INTO users (name, email, password_hash) VALUES (%s, %s, %s) RETURNING id",
            (f"Bench {role}", email, pw_hash),
        )
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "type": "access",
            "fresh": False,
            "jti": secrets.token_hex(16),
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(hours=2),
        }
        return BenchUser(user_id, email, password, jwt.encode(claims, self.secret, "HS256"))

    def api_key(self, role: str) -> str:
        """A live API key of every scope for the role's user (our API only: the floor
        has no keys), made on first use."""
        if role not in self.api_keys:
            assert self.ours is not None, "API keys need our API"
            r = self.http.post(
                f"{self.ours.base_url}/api-keys",
                json={"name": f"bench {role}"},
                headers={"Authorization": f"Bearer {self.user(role).token}"},
                timeout=30,
            )
            expect(r, 201, "POST /api-keys")
            self.api_keys[role] = r.json()["key"]
        return self.api_keys[role]

    def smoke(self, method: str, path: str, token: str, body: Any, want: int) -> None:
        """One request per server before the load; a wrong answer becomes a note."""
        for server in self.servers():
            r = self.http.request(
                method,
                f"{server.base_url}{path}",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            if r.status_code != want:
                self.notes.append(
                    f"{server.name}: {method} {path} answered {r.status_code} (expected "
                    f"{want}): {r.text[:300]}"
                )


def expect(r: requests.Response, status: int, what: str) -> None:
    if r.status_code != status:
        raise RuntimeError(f"{what} answered {r.status_code}, expected {status}: {r.text[:500]}")
