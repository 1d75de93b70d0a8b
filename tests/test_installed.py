"""A plain install works: the wheel `pip install` builds holds everything `chasm` needs, run from anywhere.

The checkout is copied (without .git, .venv, build/, data/ and caches, which a fresh clone does not
have), stray folders are planted in the copy, a wheel is built from it and installed into a new venv
(not editable), and the installed `chasm` runs from `/` with its data directory in a temporary
folder: simulate a preset, upgrade the store, load the demo, read the metrics, and serve the web app.
Slow (about a minute: pip installs the dependencies from its caches). Under CI=true a machine that
cannot make a venv fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from devtools.browser import HOST, free_port, stop_group

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
NOT_IN_A_CLONE = (".git", ".venv", "build", "data", "*.egg-info", "__pycache__", ".pytest_cache",
                  ".ruff_cache", ".mypy_cache", ".hypothesis", "*.db", "*.sqlite")
# Folders a working checkout has that are not Chasm. (Not build/lib: setuptools puts whatever an earlier
# in-tree build left there into the next wheel, whatever pyproject.toml says; `make clean` removes it.)
STRAYS = ("build/screenshots/page.png", "data/chasm.db", "data/stray_data/__init__.py",
          ".venv/lib/stray_venv/__init__.py", "stray_top/__init__.py")
SHIPPED = ("app/web/main.py", "app/cli/__init__.py", "db/migrations/env.py", "db/migrations/script.py.mako",
           "db/migrations/versions/0001_initial_schema.py", "model/engine.py", "seed_data/__init__.py",
           "seed_data/scenarios/rollout.toml", "seed_data/demo/facility_weeks.csv",
           "seed_data/demo/technician_weeks.csv", "seed_data/demo/interventions.csv",
           "seed_data/demo/plans/open_the_ai.toml", "seed_data/demo/examples/upload_clean.csv",
           "seed_data/reference/SOURCES.md", "seed_data/reference/ckm_medical_innovation_edges.csv",
           "seed_data/plans/menu.toml", "seed_data/posteriors/seed_case.json")
ADMIN_PASSWORD = "installed-test-pass-1"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this must work on CI)")
    pytest.skip(reason)


def _run(command: list[str], *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{' '.join(command)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("installed")


@pytest.fixture(scope="module")
def wheel(base) -> Path:
    """A wheel built by pip from a copy of the checkout with stray folders planted in it."""
    source = base / "checkout"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
    for stray in STRAYS:
        (source / stray).parent.mkdir(parents=True, exist_ok=True)
        (source / stray).write_text("")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(base / "wheels"),
          str(source)], timeout=600)
    (built,) = (base / "wheels").glob("chasm-*.whl")
    return built


@pytest.fixture(scope="module")
def chasm(base, wheel) -> Path:
    """The `chasm` script of a new venv into which the wheel was pip-installed."""
    venv = base / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True,
                       timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        _unavailable(f"cannot create a venv with {sys.executable}: {exc} {detail.decode(errors='replace')}")
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], timeout=900)
    return venv / "bin" / "chasm"


@pytest.fixture(scope="module")
def env(base) -> dict[str, str]:
    """The environment of a user's shell: no checkout on the path, no test settings."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("CHASM_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return clean | {"CHASM_DATA_DIR": str(base / "data"), "CHASM_ADMIN_PASSWORD": ADMIN_PASSWORD,
                    "PYTHONUNBUFFERED": "1"}


def test_the_wheel_holds_the_four_packages_and_their_data_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"app", "model", "db", "seed_data"}
    assert [n for n in SHIPPED if n not in names] == []
    assert not [n for n in names if re.search(r"(^|/)(tests|bench|devtools|__pycache__)/|stray", n)]


def test_the_installed_package_runs_from_site_packages(chasm, env):
    python = chasm.with_name("python")
    code = "import app, db, model, seed_data; print(seed_data.path('scenarios'), app.__file__)"
    out = _run([str(python), "-c", code], timeout=120, cwd="/", env=env).stdout
    assert str(ROOT) not in out and "site-packages" in out


def test_installed_chasm_simulates_a_preset_by_name(chasm, env):
    out = _run([str(chasm), "simulate", "rollout", "--runs", "10", "--json"], timeout=300, cwd="/",
               env=env).stdout
    doc = json.loads(out)
    assert doc["scenario"] == "rollout" and doc["runs"] == 10
    assert len(doc["overall"]["active_share"]["mean"]) == len(doc["weeks"])
    over = _run([str(chasm), "simulate", "turnaround", "--runs", "10", "--posterior", "seed", "--json"],
                timeout=300, cwd="/", env=env).stdout
    assert len(json.loads(over)["posterior"]["lever_effects"]) == 5  # the seed case's posterior ships


def test_installed_chasm_builds_the_store_loads_the_demo_and_reads_it(chasm, env):
    assert "schema revision" in _run([str(chasm), "db", "upgrade"], timeout=300, cwd="/", env=env).stdout
    loaded = _run([str(chasm), "demo", "load"], timeout=600, cwd="/", env=env).stdout
    assert "Intervention log: 10 new entries." in loaded
    metrics = json.loads(_run([str(chasm), "metrics", "--json"], timeout=300, cwd="/", env=env).stdout)
    assert len(metrics) > 0 and {"facility", "week_start", "active_users"} <= set(metrics[0])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def test_installed_chasm_serves_the_web_app(chasm, env, base):
    port = free_port()
    url = f"http://{HOST}:{port}"
    with (base / "serve.log").open("wb") as log:
        process = subprocess.Popen([str(chasm), "serve", "--port", str(port), "--address", HOST], cwd="/",
                                   env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _get(f"{url}/_stcore/health") != (200, b"ok"):
            assert process.poll() is None, (base / "serve.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "no answer from /_stcore/health within 120 s"
            time.sleep(0.5)
        status, page = _get(f"{url}/")
        assert status == 200, "the web app's index page"
        script = re.search(rb'src="\./(static/js/[^"]+\.js)"', page)
        assert script, "the index page names streamlit's scripts"
        assert _get(f"{url}/{script[1].decode()}")[0] == 200, "streamlit's static files are served"
    finally:
        stop_group(process)
    assert process.returncode is not None
