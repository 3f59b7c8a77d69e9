"""Contracts that keep code, data and documents in step."""

from __future__ import annotations

import pickle
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

import briefing.errors as errors_module
from briefing.config.taxonomy import load_taxonomy
from briefing.errors import BriefingError
from tests.conftest import ROOT, SHARED


def _error_classes() -> list[type[BriefingError]]:
    found = [BriefingError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return [c for c in found if c.__module__ == errors_module.__name__]


def _instance(cls: type[BriefingError]) -> BriefingError:
    arguments = {
        "SourcesError": ("sources.yaml", ["line 3: outlets[0].segment 'x' is not a segment"]),
        "NotFoundError": ("edition", "2026-03-10"),
        "SourceError": ("https://example.org/feed", "it broke"),
        "FetchError": ("https://example.org/feed", "timed out"),
        "FeedParseError": ("https://example.org/feed", "not a feed"),
    }
    return cls(*arguments.get(cls.__name__, ("something went wrong",)))  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_pickles_and_reads_well(cls: type[BriefingError]) -> None:
    error = _instance(cls)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls and str(copy) == str(error)
    assert str(error) and "\n" not in str(error)
    assert error.exit_code in (1, 2)


def test_the_taxonomy_is_the_shared_one() -> None:
    spec = SHARED / "spec" / "taxonomy.yaml"
    if not spec.is_file():
        pytest.skip("../shared/spec/taxonomy.yaml is not beside the repository")
    ours, shared = load_taxonomy(ROOT / "classifiers" / "taxonomy.yaml"), load_taxonomy(spec)
    assert ours == shared
    assert len(ours.topics) == 14 and len(ours.regions) == 3 and len(ours.segments) == 8


def test_keyword_baseline_uses_taxonomy_slugs() -> None:
    taxonomy = load_taxonomy(ROOT / "classifiers" / "taxonomy.yaml")
    keywords = yaml.safe_load((ROOT / "classifiers" / "keywords.yaml").read_text())
    assert set(keywords["topics"]) == set(taxonomy.topics)
    assert set(keywords["regions"]) <= set(taxonomy.regions)


@pytest.mark.slow
def test_a_wheel_install_finds_its_data(tmp_path: Path) -> None:
    """Built and installed like a user would: sources, templates, taxonomy and migrations
    come from inside the wheel, not from this checkout."""
    dist = tmp_path / "dist"
    uv = ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():
        pytest.skip("uv is installed by `make`; run the tests through `make test`")
    subprocess.run(
        [str(uv), "build", "--wheel", "--out-dir", str(dist), "--quiet", str(ROOT)], check=True
    )
    (wheel,) = dist.glob("briefing-*.whl")
    target = tmp_path / "venv"
    venv.create(target, system_site_packages=False, with_pip=False)
    python = target / "bin" / "python"
    # The dependencies are this environment's own; only the wheel itself is installed.
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(python), "--no-deps", str(wheel)],
        check=True,
    )
    site = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (
        target
        / "lib"
        / f"python{sys.version_info.major}.{sys.version_info.minor}"
        / "site-packages"
        / "deps.pth"
    ).write_text(site.strip() + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    script = (
        "from briefing.resources import data_path\n"
        "import briefing, pathlib\n"
        "for name in ('sources.yaml', 'templates/email/edition.mjml', 'classifiers/taxonomy.yaml',"
        " 'classifiers/keywords.yaml', 'alembic.ini', 'alembic/env.py'):\n"
        "    p = data_path(name)\n"
        "    assert pathlib.Path(briefing.__file__).parent in p.parents, p\n"
        "from briefing.db.migrate import upgrade\n"
        "upgrade('sqlite:///wheel.db')\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [str(python), "-c", script],
        cwd=work,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.strip() == "ok", result.stderr
    check = subprocess.run(
        [str(target / "bin" / "briefing"), "sources", "check"],
        cwd=work,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert check.returncode == 0, check.stderr
