"""Fixtures for the identifier tests: a store per backend, nodes on loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from helan.ident.store import HandleStore, open_store


@pytest.fixture(params=["lmdb", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"{request.param}:{tmp_path / 'handles'}"


@pytest.fixture
def store(store_url: str) -> Iterator[HandleStore]:
    s = open_store(store_url)
    yield s
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    """A free loopback port (TCP; UDP on the same number is free in practice on loopback)."""
    return free_port()
