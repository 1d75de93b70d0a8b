"""One pseudonym key per store, whichever folder a command runs from."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select

from db import queries
from db.errors import IngestError
from db.ingest import ingest_file
from db.ingest.cells import pseudonymise
from db.models import StoreKey
from db.pseudonym_key import LOST_KEY, MISSING_SECRET, WRONG_SECRET, technician_secret
from tests.db.helpers import count, snapshot, write

TEAM = "technician,facility,week,active\nT1,North,2025-03-03,yes\nT2,North,2025-03-03,no\n"


@pytest.fixture
def no_secret(monkeypatch):
    monkeypatch.delenv("CHASM_PSEUDONYM_SECRET")


def _ingest(tmp_path, name="team.csv", text=TEAM, **kwargs):
    return ingest_file(write(tmp_path, name, text), uploaded_by="test", **kwargs)


def _rejection(raised) -> str:
    return str(raised.value).split("\n", 1)[1].strip()


def test_the_same_file_from_two_working_directories_inserts_once(engine, tmp_path, monkeypatch, no_secret):
    monkeypatch.delenv("CHASM_DATA_DIR")  # the default data folder, relative to where the command runs
    for folder, inserted in (("first", 2), ("second", 0)):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        report = _ingest(tmp_path, engine=engine)
        assert (report.inserted, report.unchanged) == (inserted, 2 - inserted)
        assert not (tmp_path / folder / "data" / "pseudonym.key").exists()
    assert count(engine, "technician_week") == 2
    assert queries.technician_weeks(engine)["technician_key"].nunique() == 2


def test_two_data_folders_on_one_database_share_the_store_key(engine, tmp_path, monkeypatch, no_secret):
    for folder, inserted in (("a", 2), ("b", 0)):
        monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / folder))
        assert _ingest(tmp_path, engine=engine).inserted == inserted
    with engine.connect() as conn:
        [row] = conn.execute(select(StoreKey)).all()
    assert row.source == "random" and len(row.key) == 64
    assert technician_secret(engine) == row.key.encode()


def test_an_existing_key_file_is_adopted_and_a_later_one_elsewhere_ignored(engine, tmp_path, monkeypatch,
                                                                           no_secret):
    for folder, key in (("old", "old-key-made-by-chasm-0.x"), ("other", "a-second-key-minted-elsewhere")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "pseudonym.key").write_text(key + "\n")
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "old"))
    assert _ingest(tmp_path, engine=engine).inserted == 2
    keys = set(queries.technician_weeks(engine)["technician_key"])
    assert keys == {pseudonymise(t, b"old-key-made-by-chasm-0.x") for t in ("T1", "T2")}
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "other"))
    assert _ingest(tmp_path, engine=engine).unchanged == 2
    with engine.connect() as conn:
        assert conn.execute(select(StoreKey.source)).scalar() == "key-file"


def test_a_store_with_pseudonyms_but_no_key_refuses_to_mint_one(engine, tmp_path, monkeypatch, no_secret):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "pseudonym.key").write_text("the-original-key")
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "old"))
    _ingest(tmp_path, engine=engine)
    with engine.begin() as conn:  # as a store migrated from a version that kept the key in a file
        conn.execute(delete(StoreKey))
    before = snapshot(engine)
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "fresh"))
    with pytest.raises(IngestError) as raised:
        _ingest(tmp_path, engine=engine)
    assert _rejection(raised) == f"File: {LOST_KEY}"
    assert LOST_KEY == (
        "this store holds technician pseudonyms but not their key; set CHASM_DATA_DIR to the folder "
        "with the original pseudonym.key (or CHASM_PSEUDONYM_SECRET to the original secret) once, "
        "and the store keeps it from then on")
    assert snapshot(engine) == before and queries.uploads(engine)["outcome"].iloc[0] == "rejected"
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "old"))
    assert _ingest(tmp_path, engine=engine).unchanged == 2


def test_a_secret_store_keeps_only_a_fingerprint_and_refuses_another_secret(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("CHASM_PSEUDONYM_SECRET", "the-operators-secret")
    assert _ingest(tmp_path, engine=engine).inserted == 2
    with engine.connect() as conn:
        row = conn.execute(select(StoreKey)).one()
    assert row.key is None and row.source == "secret"
    assert "the-operators-secret" not in json.dumps(list(row), default=str)
    before = snapshot(engine)
    monkeypatch.setenv("CHASM_PSEUDONYM_SECRET", "a-different-secret")
    with pytest.raises(IngestError) as raised:
        _ingest(tmp_path, engine=engine)
    assert _rejection(raised) == (
        "File: CHASM_PSEUDONYM_SECRET is not the secret this store's pseudonyms were made with; "
        "set the original secret (or unset it to use the key the store holds)")
    assert WRONG_SECRET in _rejection(raised)
    monkeypatch.delenv("CHASM_PSEUDONYM_SECRET")
    with pytest.raises(IngestError) as raised:
        _ingest(tmp_path, engine=engine)
    assert _rejection(raised) == f"File: {MISSING_SECRET}"
    assert MISSING_SECRET == ("this store's pseudonyms were made with CHASM_PSEUDONYM_SECRET, which is "
                              "not set; set it to the same secret")
    assert snapshot(engine) == before


def test_facility_uploads_and_dry_runs_never_make_a_key(engine, tmp_path, no_secret):
    from tests.db.helpers import FACILITY_CSV

    _ingest(tmp_path, "week.csv", FACILITY_CSV, engine=engine)
    assert _ingest(tmp_path, engine=engine, dry_run=True).inserted == 2
    assert count(engine, "store_key") == 0
    assert _ingest(tmp_path, engine=engine).inserted == 2
    assert count(engine, "store_key") == 1
