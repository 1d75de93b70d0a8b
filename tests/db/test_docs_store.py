"""docs/store.md cannot drift from the code: its tables of modules, tables, migrations and settings.

Each table sits between HTML comment markers (``<!-- table:NAME -->`` ... ``<!-- end:NAME -->``);
its first column holds a name in backticks (a module path, a table, a revision id, a variable).
"""

import re
from pathlib import Path

from alembic.script import ScriptDirectory
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers every table on the metadata)
from db.config import StoreSettings
from db.migrate import alembic_config

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "store.md"
CODE = re.compile(r"`([^`]+)`")


def _table(name: str) -> list[list[str]]:
    """The data rows of the marked table, as lists of stripped cells."""
    text = DOC.read_text(encoding="utf-8")
    start, end = f"<!-- table:{name} -->", f"<!-- end:{name} -->"
    assert text.count(start) == 1 and text.count(end) == 1, f"docs/store.md needs one {start} ... {end}"
    lines = [ln.strip() for ln in text[text.index(start) + len(start): text.index(end)].strip().splitlines()]
    assert lines and all(ln.startswith("|") for ln in lines), f"{name}: only a table between the markers"
    assert re.fullmatch(r"[-:| ]+", lines[1]), f"{name}: second line must be the header rule"
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def _by_name(name: str) -> dict[str, list[str]]:
    """Rows keyed by the backticked name of their first cell; a name may appear only once."""
    out: dict[str, list[str]] = {}
    for row in _table(name):
        match = re.fullmatch(r"`([^`]+)`", row[0])
        assert match, f"{name} table: first cell {row[0]!r} is not a `name`"
        assert match.group(1) not in out, f"{name} table: {match.group(1)} appears twice"
        out[match.group(1)] = row
    return out


def _assert_same(documented: set[str], actual: set[str], what: str) -> None:
    missing, extra = sorted(actual - documented), sorted(documented - actual)
    assert not missing and not extra, f"{what}: missing from docs/store.md: {missing}; not in code: {extra}"


def test_every_table_is_listed_once():
    scheduler_table = SQLAlchemyJobStore(url="sqlite://").jobs_t.name
    _assert_same(set(_by_name("tables")), {*SQLModel.metadata.tables, scheduler_table}, "tables")


def test_each_table_names_its_class():
    classes = {m.local_table.name: m.class_.__name__ for m in SQLModel._sa_registry.mappers}
    for table, row in _by_name("tables").items():
        if table in classes:
            assert row[1] == f"`{classes[table]}`", f"{table}: docs say {row[1]}, code {classes[table]}"


def test_every_migration_is_listed_with_its_file():
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    actual = {s.revision: Path(s.path).name for s in scripts.walk_revisions()}
    rows = _by_name("migrations")
    _assert_same(set(rows), set(actual), "migration revisions")
    for revision, file_name in actual.items():
        assert rows[revision][1] == f"`{file_name}`", f"revision {revision}: docs say {rows[revision][1]}"


def test_the_out_of_date_example_names_the_head_revision():
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert f"this version of Chasm needs {head})" in DOC.read_text(encoding="utf-8"), (
        f"the out-of-date example in docs/store.md should name the head revision {head}")


def test_every_store_setting_is_listed_with_its_default():
    prefix = StoreSettings.model_config["env_prefix"]
    fields = {f"{prefix}{name.upper()}": info.default for name, info in StoreSettings.model_fields.items()}
    rows = _by_name("settings")
    _assert_same(set(rows), set(fields), "CHASM_ settings")
    for variable, default in fields.items():
        if default is not None:  # a None default is described in words (what it falls back to)
            documented = CODE.findall(rows[variable][1])
            assert documented and documented[0] == str(default), (
                f"{variable}: docs say {rows[variable][1]}, code says {default}")


def test_every_db_module_is_listed():
    """A module is named by its path, or by its file name in the row of its package (`db/ingest/`)."""
    rows = {row[0]: " ".join(row[1:]) for row in _table("modules")}
    for path in sorted((ROOT / "db").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if path.name == "__init__.py" or "migrations" in relative.parts:
            continue
        package_row = rows.get(f"`{relative.parent.as_posix()}/`", "")
        named = any(f"`{relative.as_posix()}`" in key for key in rows) or f"`{path.name}`" in package_row
        assert named, f"{relative} is not in docs/store.md's module table"
