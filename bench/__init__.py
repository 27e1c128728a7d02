"""Benchmarks: our API against a minimal floor app (see bench/README.md)."""
