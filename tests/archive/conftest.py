"""One generated archive per backend and test module: the tests here only read it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from briefing.db.engine import make_engine
from tests.archive.fixture import Truth, build
from tests.conftest import BACKENDS, _empty


@dataclass(frozen=True, slots=True)
class Archive:
    engine: Engine
    truths: list[Truth]


@pytest.fixture(scope="module", params=BACKENDS)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("archive") / "briefing.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
        _empty(url)
    engine = make_engine(url)
    yield Archive(engine, build(engine))
    engine.dispose()
    if request.param != "sqlite":
        _empty(url)
