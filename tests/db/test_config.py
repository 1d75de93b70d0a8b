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



def test_the_pseudonyms_an_upload_reuses_are_those_of_its_own_key():
    """Uploads cache pseudonyms in memory (each weekly export names the same people): a second
    store's key, in the same process, must get its own pseudonyms, never the cached ones."""
    from datetime import date

    from db.ingest.read import read_table
    from db.ingest.validate import validate_table

    content = (b"technician_id,facility,week_start,active\n"
               b"EMP-7,Hull Works,2025-01-06,yes\n emp-8 ,Hull,2025-01-06,no\n")
    for secret in (b"first store", b"second store", b"first store"):
        upload = validate_table(read_table(content), kind="technician-week", today=date(2026, 1, 5),
                                secret=secret)
        expected = [pseudonymise(t, secret) for t in ("EMP-7", "emp-8")]
        assert list(upload.frame["technician"]) == expected
