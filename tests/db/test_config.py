from __future__ import annotations

from db.config import get_settings
from db.engine import get_engine
from db.ingest.cells import pseudonymise


def test_defaults_put_sqlite_in_the_data_dir(store_environment):
    settings = get_settings()
    assert settings.resolved_database_url == f"sqlite:///{store_environment / 'chasm.db'}"
    assert settings.resolved_inbox_dir == store_environment / "inbox"
    assert settings.upload_max_bytes == 20 * 1024 * 1024
    assert settings.ingest_cron == "0 6 * * mon"


def test_settings_are_read_when_needed(monkeypatch, tmp_path):
    monkeypatch.setenv("CHASM_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert get_settings().resolved_database_url.endswith("x.db")
    assert get_engine() is get_engine()  # one engine per process and URL


def test_pseudonym_is_stable_and_secret_dependent():
    assert pseudonymise(" emp-7 ", b"a") == pseudonymise("EMP-7", b"a")
    assert pseudonymise("EMP-7", b"a") != pseudonymise("EMP-7", b"b")
