"""Throwaway stores for the db tests: a temp-file SQLite and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import create_store_engine
from db.migrate import upgrade
from db.models import SQLModel

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
_PG_BIN_DIRS = [Path("/usr/local/bin"), *sorted(Path("/usr/lib/postgresql").glob("*/bin"))]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(f"no PostgreSQL server: {reason}")


def _reachable(url: str) -> str | None:
    sa_url = make_url(url)
    try:
        psycopg.connect(
            sa_url.set(drivername="postgresql").render_as_string(False), connect_timeout=5
        ).close()
    except psycopg.Error as error:
        return str(error).strip()
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _start_cluster() -> tuple[str, Path, Path] | str:
    """Start a throwaway cluster from Debian's binaries: (url, base dir, pg_ctl), or why not."""
    bin_dir = next((d for d in _PG_BIN_DIRS if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)
    if bin_dir is None:
        return "CHASM_TEST_POSTGRES_URL is unset and no initdb/pg_ctl binaries were found"
    base = Path(tempfile.mkdtemp(prefix="chasm-pg-"))
    data, port = base / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        subprocess.run(
            _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-w",
                    "-l",
                    str(base / "log"),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, OSError) as error:
        shutil.rmtree(base, ignore_errors=True)
        return f"could not start a throwaway cluster with {bin_dir}: {error}"
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", base, bin_dir / "pg_ctl"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database the tests may create databases in."""
    url = os.environ.get("CHASM_TEST_POSTGRES_URL")
    if url:
        problem = _reachable(url)
        if problem:
            _unavailable(f"CHASM_TEST_POSTGRES_URL={url} is not reachable: {problem}")
        yield url
        return
    started = _start_cluster()
    if isinstance(started, str):
        _unavailable(started)
    url, base, pg_ctl = started  # type: ignore[misc]
    try:
        yield url
    finally:
        subprocess.run(
            _as_postgres([str(pg_ctl), "-D", str(base / "data"), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[callable]:
    """A factory of fresh databases on the test server, all dropped at the end of the session."""
    admin_url = make_url(postgres_server).set(drivername="postgresql").render_as_string(False)
    created: list[str] = []

    def create() -> str:
        name = f"chasm_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return make_url(postgres_server).set(database=name).render_as_string(False)

    yield create
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_postgres(postgres_database) -> str:
    url = postgres_database()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "chasm.db"
    upgrade(f"sqlite:///{path}")
    return path


def _wipe_postgres(url: str) -> None:
    engine = create_store_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
    engine.dispose()


@pytest.fixture(autouse=True)
def store_environment(tmp_path, monkeypatch) -> Path:
    """Every db test gets its own data directory and a fixed pseudonym secret."""
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHASM_PSEUDONYM_SECRET", "test-secret")
    monkeypatch.delenv("CHASM_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHASM_INBOX_DIR", raising=False)
    return tmp_path / "data"


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path, monkeypatch) -> str:
    """An empty, migrated store on each backend; also set as CHASM_DATABASE_URL."""
    if request.param == "sqlite":
        path = tmp_path / "chasm.db"
        shutil.copy(request.getfixturevalue("migrated_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("migrated_postgres")
        _wipe_postgres(url)
    monkeypatch.setenv("CHASM_DATABASE_URL", url)
    return url


@pytest.fixture
def engine(store_url):
    engine = create_store_engine(store_url)
    yield engine
    engine.dispose()
