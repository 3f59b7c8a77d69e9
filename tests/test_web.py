"""The preview pages, in process, on the demo's database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from briefing.config.settings import load_settings
from briefing.db.engine import make_engine, session_scope
from briefing.db.users import add_user
from briefing.demo.run import DEMO_PASSWORD, DEMO_USER, DemoResult, run_demo
from briefing.web.app import create_app


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    var = tmp_path_factory.mktemp("web") / "var"
    return run_demo(load_settings({"BRIEFING_VAR_DIR": str(var)}), say=print)


def sign_in(client: TestClient, username: str = DEMO_USER, password: str = DEMO_PASSWORD) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token[1], "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture(scope="module")
def client(demo: DemoResult) -> TestClient:
    client = TestClient(create_app(demo.settings))
    sign_in(client)
    return client


def test_home_goes_to_the_latest_edition(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/editions/2026-03-10"


def test_edition_page(client: TestClient) -> None:
    page = client.get("/editions/2026-03-10")
    assert page.status_code == 200
    assert "Edition of Tue 10 Mar 2026" in page.text
    assert (
        '<iframe title="Email preview" sandbox src="/editions/2026-03-10/email.html?v=' in page.text
    )
    assert "Top stories" in page.text and "score " in page.text
    # Why a story is where it is: its segment balance, and a warning when one-sided.
    assert "carried by mixed middle 2 · right-leaning 1 · progressive 1 · local 1" in page.text
    assert page.text.count("Only in right-leaning outlets so far") == 1


def test_email_is_served_sandboxed(client: TestClient) -> None:
    email = client.get("/editions/2026-03-10/email.html")
    assert email.status_code == 200
    assert email.headers["content-security-policy"].startswith("sandbox")
    assert "Migration news briefing" in email.text


def test_unknown_edition_and_bad_date(client: TestClient) -> None:
    assert client.get("/editions/2026-03-11").status_code == 404
    assert client.get("/editions/yesterday").status_code == 422


def test_healthz(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["ok"] and health["database"] == "ok"
    assert health["latest_edition"] == "2026-03-10"
    assert health["scheduler"] == {"running": False}  # `serve` runs no scheduler
    assert isinstance(health["last_fetch_age_seconds"], int)  # the demo read its feeds


def test_healthz_without_a_database_says_503(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    app = create_app(load_settings({"BRIEFING_DATABASE_URL": url}))
    response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    assert response.json()["ok"] is False and "db upgrade" in response.json()["database"]


def test_pages_need_a_signed_in_user(demo: DemoResult) -> None:
    anonymous = TestClient(create_app(demo.settings))
    for path in ("/", "/editions/2026-03-10", "/editions/2026-03-10/email.html"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert anonymous.get("/healthz").status_code == 200  # the monitor needs no account


def test_empty_database_page(tmp_path: object) -> None:
    from briefing.db.migrate import upgrade

    url = f"sqlite:///{tmp_path}/empty.db"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        add_user(session, "viewer", "a long passphrase", "viewer")
    engine.dispose()
    client = TestClient(create_app(load_settings({"BRIEFING_DATABASE_URL": url})))
    sign_in(client, "viewer", "a long passphrase")
    page = client.get("/")
    assert page.status_code == 200 and "No edition yet" in page.text
