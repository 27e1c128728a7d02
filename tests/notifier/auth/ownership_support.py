"""Helpers of the ownership tests: a statement as SQLite would run it."""

from sqlalchemy.dialects import sqlite


def sql_text(statement) -> str:
    """The statement compiled for SQLite, on one line."""
    return " ".join(str(statement.compile(dialect=sqlite.dialect())).split())
