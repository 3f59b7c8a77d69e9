"""Alembic migrations driven from code, so `briefing db upgrade` needs no alembic.ini path."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from briefing.resources import data_path


def alembic_config(database_url: str) -> Config:
    config = Config(str(data_path("alembic.ini")))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
