from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from briefing.config.settings import Settings, load_settings
from briefing.errors import ConfigError


def test_defaults_need_no_file_or_environment() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite:///var/briefing.db"
    assert settings.timezone == "Europe/London"
    assert settings.edition_days == ("mon", "tue", "wed", "thu", "fri")
    assert settings.sources.name == "sources.yaml" and settings.sources.is_file()


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "briefing.toml"
    config.write_text('compose_at = "06:00"\nsend_at = "07:45"\nauto_send = false\n')
    settings = load_settings(
        {"BRIEFING_SEND_AT": "08:15", "BRIEFING_EDITION_DAYS": "Fri, mon"}, config_path=config
    )
    assert settings.compose_at == time(6, 0)
    assert settings.send_at == time(8, 15)
    assert settings.auto_send is False
    assert settings.edition_days == ("mon", "fri")


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('list_address = "group@example.org"\n')
    assert load_settings({"BRIEFING_CONFIG": str(config)}).list_address == "group@example.org"


def test_briefing_toml_in_the_working_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / "briefing.toml").write_text('timezone = "Europe/Paris"\n')  # cwd is tmp_path
    assert load_settings({}).timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"BRIEFING_SMTP_PORT": "mail"}, r"setting smtp_port \(BRIEFING_SMTP_PORT\): .*integer"),
        ({"BRIEFING_SMTP_PORT": "70000"}, r"smtp_port .*less than or equal to 65535"),
        ({"BRIEFING_COMPOSE_AT": "half six"}, r"setting compose_at .*time"),
        ({"BRIEFING_TIMEZONE": "Mars/Olympus"}, r"timezone .*unknown time zone 'Mars/Olympus'"),
        ({"BRIEFING_EDITION_DAYS": "mon,funday"}, r"edition_days"),
        ({"BRIEFING_EDITION_DAYS": ""}, r"edition_days .*at least one day"),
        ({"BRIEFING_AUTO_SEND": "perhaps"}, r"auto_send .*boolean"),
        ({"BRIEFING_SMTP_SECURITY": "ssl"}, r"smtp_security .*'starttls', 'tls' or 'none'"),
        (
            {"BRIEFING_FETCH_MIN_MINUTES": "90", "BRIEFING_FETCH_MAX_MINUTES": "60"},
            r"fetch_min_minutes must not exceed fetch_max_minutes",
        ),
    ],
)
def test_bad_values_name_the_key_and_the_problem(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings(environ)


def test_unknown_key_in_the_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "briefing.toml"
    config.write_text('sned_at = "08:00"\n')
    with pytest.raises(ConfigError, match=r"sned_at .*briefing.toml.*Extra inputs"):
        load_settings({}, config_path=config)


def test_secrets_are_refused_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "secret.toml"
    config.write_text('smtp_password = "hunter2"\n')
    with pytest.raises(ConfigError, match="BRIEFING_SMTP_PASSWORD"):
        load_settings({}, config_path=config)
    secret = load_settings({"BRIEFING_SMTP_PASSWORD": "hunter2"}).smtp_password
    assert secret.get_secret_value() == "hunter2" and "hunter2" not in repr(secret)


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings({}, config_path=tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("compose_at = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({}, config_path=broken)


def test_every_setting_is_documented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "settings.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert f"`{name}`" in docs, name
        assert field.description, name
