"""The app tests share one throwaway SQLite store with the demo loaded and an account per role.

The app's engine is built once per process (st.cache_resource), so the environment is set once,
before the first AppTest runs; tests that write undo nothing and assert on differences.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

MAIN = Path(__file__).resolve().parents[2] / "app" / "web" / "main.py"
PASSWORDS = {"admin": "admin-pass-1", "erin": "editor-pass-1", "vic": "viewer-pass-1"}
ROLES = {"admin": "admin", "erin": "editor", "vic": "viewer"}
USER_OF = {role: name for name, role in ROLES.items()}


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Iterator[str]:
    from db.accounts import add_user, ensure_admin
    from db.demo import prepare_first_start
    from db.engine import get_engine

    base = tmp_path_factory.mktemp("app-store")
    patch = pytest.MonkeyPatch()
    url = f"sqlite:///{base / 'chasm.db'}"
    patch.setenv("CHASM_DATA_DIR", str(base / "data"))
    patch.setenv("CHASM_DATABASE_URL", url)
    patch.setenv("CHASM_PSEUDONYM_SECRET", "app-test-secret")
    engine = get_engine()
    prepare_first_start(engine)
    ensure_admin(engine, PASSWORDS["admin"])
    for name in ("erin", "vic"):
        add_user(engine, name=name, role=ROLES[name], password=PASSWORDS[name])
    st.cache_resource.clear()
    st.cache_data.clear()
    yield url
    patch.undo()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def engine(store):
    from db.engine import get_engine

    return get_engine()


@pytest.fixture(autouse=True)
def fresh_reads(store):
    """Cached reads never leak between tests (the engine does: it is per process)."""
    st.cache_data.clear()
    yield


def signed_in(role: str, page: str | None = None, timeout: float = 60) -> AppTest:
    """An AppTest signed in as `role`, on `page` (a file under app/views) after one run."""
    at = AppTest.from_file(str(MAIN), default_timeout=timeout)
    at.session_state["user"] = USER_OF[role]
    at.session_state["role"] = role
    at.run()
    if page is not None:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def click(at: AppTest, label: str) -> AppTest:
    [button] = [b for b in at.button if b.label == label]
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture()
def demo_store(tmp_path, monkeypatch):
    """A demo store of the test's own (the shared one stays as the pages' tests expect it)."""
    from db.demo import prepare_first_start
    from db.engine import get_engine

    monkeypatch.setenv("CHASM_DATABASE_URL", f"sqlite:///{tmp_path / 'own.db'}")
    monkeypatch.setenv("CHASM_PLANS_DIR", str(tmp_path / "plans"))
    own = get_engine()
    prepare_first_start(own)
    yield own
    own.dispose()
