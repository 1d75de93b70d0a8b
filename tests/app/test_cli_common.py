"""Every `chasm` command fails one way: `error: <message>` on stderr, exit 1 (usage errors exit 2)."""

import ast
from pathlib import Path

from typer.testing import CliRunner

from app import cli

CLI = Path(__file__).resolve().parents[2] / "app" / "cli"


def test_only_common_prints_errors_and_opens_the_store():
    for path in sorted(CLI.glob("*.py")):
        if path.name == "common.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and any(
                    k.arg == "err" for k in node.keywords) and "error:" in ast.unparse(node):
                raise AssertionError(f"{path.name}:{node.lineno} prints its own error: use common.fail")
            if isinstance(node, ast.FunctionDef) and node.name in {"_fail", "_store", "_engine"}:
                raise AssertionError(f"{path.name}:{node.lineno} defines {node.name}; use app.cli.common")


def test_refusals_from_every_room_read_the_same(tmp_path, monkeypatch):
    cli._register_commands()
    runner = CliRunner()
    monkeypatch.setenv("CHASM_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    bad = tmp_path / "bad.toml"
    bad.write_text("[levers]\nfriction_minutes = -3\n")
    for args in (["metrics"], ["simulate", str(bad)], ["forecast"], ["users", "list"]):
        result = runner.invoke(cli.app, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("error: "), (args, result.stderr)
        assert "Traceback" not in result.stderr
    usage = runner.invoke(cli.app, ["simulate", str(bad), "--runs", "zero"])
    assert usage.exit_code == 2
