"""The gunicorn configuration's multiprocess directory: made, cleared, removed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from notifier.observability import multiproc


@pytest.fixture(autouse=True)
def _restored_environment(monkeypatch):
    """prepare_multiproc_dir writes os.environ; setenv makes monkeypatch restore it."""
    for name in (multiproc.ENV, multiproc.CREATED_ENV, "METRICS_TOKEN"):
        monkeypatch.setenv(name, "")


def test_nothing_without_a_token():
    assert multiproc.prepare_multiproc_dir() is None
    assert os.environ[multiproc.ENV] == ""


def test_a_private_directory_is_made_and_removed(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "t")
    directory = Path(multiproc.prepare_multiproc_dir())
    try:
        assert directory.is_dir() and os.environ[multiproc.ENV] == str(directory)
    finally:
        multiproc.remove_multiproc_dir()
    assert not directory.exists()


def test_a_given_directory_is_cleared_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("METRICS_TOKEN", "t")
    monkeypatch.setenv(multiproc.ENV, str(tmp_path))
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    assert multiproc.prepare_multiproc_dir() == str(tmp_path)
    multiproc.clear_multiproc_dir()
    multiproc.remove_multiproc_dir()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
