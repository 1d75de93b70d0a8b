"""`chasm users` and how `chasm serve` starts its two processes."""

import sys
from pathlib import Path

from typer.testing import CliRunner

from app.cli import _register_commands, app
from app.cli.serve import APP_MAIN, scheduler_command, streamlit_command, web_environment
from db.accounts import role_of, sign_in

_register_commands()
runner = CliRunner()


def test_users_add_then_passwd_then_sign_in(engine):
    added = runner.invoke(app, ["users", "add", "cli-editor", "--role", "editor", "--password", "first-pass"])
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "Added cli-editor as editor."
    assert role_of(engine, "cli-editor") == "editor"
    changed = runner.invoke(app, ["users", "passwd", "cli-editor"], input="second-pass\nsecond-pass\n")
    assert changed.exit_code == 0, changed.output
    assert sign_in(engine, name="cli-editor", password="second-pass") == "editor"


def test_users_add_refuses_a_bad_role_and_a_taken_name():
    bad = runner.invoke(app, ["users", "add", "someone", "--role", "boss", "--password", "long-enough"])
    assert bad.exit_code == 1
    assert "role 'boss': must be one of viewer, editor, admin" in bad.output
    taken = runner.invoke(app, ["users", "add", "admin", "--role", "admin", "--password", "long-enough"])
    assert taken.exit_code == 1 and "user 'admin' already exists" in taken.output


def test_users_passwd_of_nobody_fails():
    result = runner.invoke(app, ["users", "passwd", "nobody", "--password", "long-enough"])
    assert result.exit_code == 1 and "user 'nobody' does not exist" in result.output


def test_serve_runs_streamlit_headless_on_the_port_and_the_scheduler_beside_it():
    command = streamlit_command(8765, "127.0.0.1")
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"] and command[4] == str(APP_MAIN)
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.port"] == "8765" and flags["--server.headless"] == "true"
    assert flags["--server.address"] == "127.0.0.1"
    assert scheduler_command()[-1] == "scheduler"
    help_text = runner.invoke(app, ["serve", "--help"]).output
    assert "--port" in help_text and "Ctrl-C stops both" in help_text


def test_the_web_app_caps_its_malloc_arenas_unless_the_operator_set_them():
    assert web_environment({"PATH": "/bin"}) == {"PATH": "/bin", "MALLOC_ARENA_MAX": "2"}
    assert web_environment({"MALLOC_ARENA_MAX": "4"})["MALLOC_ARENA_MAX"] == "4"


def test_serve_starts_both_processes_and_ctrl_c_stops_them(tmp_path):
    import os
    import re
    import signal
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CHASM_DATA_DIR": str(tmp_path / "data"), "CHASM_PSEUDONYM_SECRET": "s"}
    env.pop("CHASM_DATABASE_URL", None)
    env.pop("CHASM_ADMIN_PASSWORD", None)
    chasm = [sys.executable, "-c", "from app.cli import main; main()"]
    serve = subprocess.Popen([*chasm, "serve", "--port", str(port), "--address", "127.0.0.1"], env=env,
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, healthy = time.time() + 60, False
        while time.time() < deadline and not healthy:
            try:
                healthy = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health").read() == b"ok"
            except OSError:
                time.sleep(0.5)
        assert healthy
        children = subprocess.run(["ps", "-ww", "--ppid", str(serve.pid), "-o", "pid=,args="],
                                  capture_output=True, text=True).stdout
        assert "streamlit run" in children and "scheduler" in children
        web_pid = next(int(line.split()[0]) for line in children.splitlines() if "streamlit run" in line)
        web_env = Path(f"/proc/{web_pid}/environ").read_bytes().split(b"\0")
        assert b"MALLOC_ARENA_MAX=2" in web_env  # the running app has its malloc arenas capped
    finally:
        serve.send_signal(signal.SIGINT)
        output = serve.communicate(timeout=30)[0]
    assert serve.returncode == 0, output
    assert re.search(r"one-time password: \S+", output)
    for pid in (int(line.split()[0]) for line in children.splitlines()):
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().split()[2] == "Z"
