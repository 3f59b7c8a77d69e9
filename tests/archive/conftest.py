"""One generated archive per backend and test module: the tests here only read it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from briefing.db.engine import make_engine
from tests.archive.fixture import Truth, build
from tests.conftest import BACKENDS, _empty


@dataclass(frozen=True, slots=True)
class Archive:
    url: str
    engine: Engine
    truths: list[Truth]


@contextmanager
def generated_archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    """The generated archive in a fresh database of the backend `request.param` names: a
    copy of the migrated SQLite template, or the PostgreSQL test database emptied around it."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("archive") / "briefing.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
        _empty(url)
    engine = make_engine(url)
    try:
        yield Archive(url, engine, build(engine))
    finally:
        engine.dispose()
        if request.param != "sqlite":
            _empty(url)


@pytest.fixture(scope="module", params=BACKENDS)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    with generated_archive(request, tmp_path_factory) as generated:
        yield generated
