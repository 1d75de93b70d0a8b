"""The repository stands alone: no code reads outside it, and shipped data is found one way.

Every string literal in the code (docstrings aside) and every `Path(__file__)` climb is checked:
no `../`, no `shared/` (a folder beside the checkout), no absolute path into the machine, no climb
above the repository root, and `seed_data/` is located only through `seed_data.path`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "model", "db", "tests", "bench", "devtools", "seed_data")
SOURCES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                 if "__pycache__" not in p.parts and p != Path(__file__).resolve())  # this file names them


def _prose(tree: ast.AST) -> tuple[set[int], set[int]]:
    """The ids of docstrings, and of the literal pieces of f-strings (messages like "0.1..0.9")."""
    docstrings, pieces = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            pieces.update(id(v) for v in node.values)
    return docstrings, pieces


def _string_problems(value: str, *, piece: bool = False) -> list[str]:
    problems = []
    if (value == ".." and not piece) or value.startswith("../") or "/../" in value or value.endswith("/.."):
        problems.append("a path up out of the folder ('..')")
    if value == "shared" or value.startswith("shared/") or "/shared/" in value:
        problems.append("a path into shared/ (outside the repository)")
    if value.startswith(("/work/", "/home/", "/root/")):
        problems.append("an absolute path on this machine")
    if value == "seed_data" or value.startswith("seed_data/"):
        problems.append("seed_data located by path: use seed_data.path(...)")
    return problems


# Files that name seed_data paths without locating them: the wheel's member names.
NAMES_SEED_DATA = {Path("tests/test_installed.py")}


def _uses_file(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node))


def _climbs(node: ast.AST) -> int | None:
    """How many folders above the file's own folder `node` climbs, for Path(__file__) climbs."""
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents" and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int) and _uses_file(node.value)):
        return node.slice.value
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        steps, inner = 0, node
        while isinstance(inner, ast.Attribute) and inner.attr == "parent":
            steps, inner = steps + 1, inner.value
        if _uses_file(inner):
            return steps - 1
    return None


def problems_in(path: Path) -> list[str]:
    rel = path.relative_to(ROOT)
    depth = len(rel.parts) - 1  # Path(__file__).parents[depth] is the repository root
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
    docstrings, pieces = _prose(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found = _string_problems(node.value, piece=id(node) in pieces)
            if rel in NAMES_SEED_DATA:
                found = [p for p in found if not p.startswith("seed_data")]
            out += [f"{rel}:{node.lineno}: {p}: {node.value!r}" for p in found]
        climbs = _climbs(node)
        if climbs is not None and climbs > depth:
            out.append(f"{rel}:{node.lineno}: climbs above the repository root from Path(__file__)")
        if (isinstance(node, ast.Attribute) and node.attr == "parent" and isinstance(node.value, ast.Name)
                and node.value.id == "ROOT"):
            out.append(f"{rel}:{node.lineno}: ROOT.parent is outside the repository")
    return out


def test_the_check_sees_what_it_looks_for():
    assert _string_problems("../shared/reference_data")
    assert _string_problems("seed_data/scenarios/rollout.toml")
    assert not _string_problems("scenarios")
    for code, climbs in (("Path(__file__).resolve().parents[3]", 3), ("Path(__file__).parent.parent", 1),
                         ("Path(sys.executable).parents[3]", None)):
        assert max((c for n in ast.walk(ast.parse(code)) if (c := _climbs(n)) is not None),
                   default=None) == climbs
    assert problems_in(ROOT / "tests" / "model" / "conftest.py") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_reads_nothing_outside_the_repository(path):
    assert not problems_in(path)


def test_reference_data_ships_inside_the_repository():
    import seed_data

    reference = seed_data.path("reference")
    assert (reference / "SOURCES.md").is_file()
    assert len(list(reference.glob("*.csv"))) == 9
