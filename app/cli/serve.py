"""`chasm serve` (the web app beside the scheduler) and `chasm users` (local accounts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from app.cli import app
from app.cli.common import fail, open_store

APP_MAIN = Path(__file__).resolve().parents[1] / "web" / "main.py"
users_app = typer.Typer(help="Accounts of the web app (viewer, editor, admin).", no_args_is_help=True)
app.add_typer(users_app, name="users")


def streamlit_command(port: int, address: str, upload_megabytes: int | None = None) -> list[str]:
    """How `chasm serve` starts the web app (headless: the browser is the user's business)."""
    return [sys.executable, "-m", "streamlit", "run", str(APP_MAIN), "--server.port", str(port),
            "--server.address", address, "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
            "--client.showErrorDetails", "none",  # no traceback or server path reaches a user
            "--server.maxUploadSize", str(upload_megabytes or _upload_megabytes())]


# glibc gives each thread that allocates a malloc arena of its own, up to 8 per core, and hands little
# of a freed arena back. Streamlit runs every session's script in a new thread: the app grew by about
# 20 MB with each sign-in to the enterprise tracker (280 -> 389 MB after six, and stayed there after
# the sessions expired); with two arenas it levels off at about 300 MB. An operator's own value wins.
WEB_MALLOC_ARENAS = "2"


def web_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The web app's environment: this process's, with glibc's malloc arenas capped (MALLOC_ARENA_MAX)
    unless it is already set."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("MALLOC_ARENA_MAX", WEB_MALLOC_ARENAS)
    return env


def _upload_megabytes() -> int:
    """The store's upload limit in whole MB (Streamlit's unit), so the upload box states the real one."""
    from app.services.settings import get_settings

    return max(1, -(-get_settings().store.upload_max_bytes // 1_048_576))


def scheduler_command() -> list[str]:
    """The scheduler beside the app: `app.jobs` directly, not the command line (a smaller process);
    the last argument, unused, names it in `ps`."""
    return [sys.executable, "-c", "import sys; from app.jobs import main; sys.exit(main())", "scheduler"]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@app.command()
def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the web app.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on.")] = "localhost",
    scheduler: Annotated[bool, typer.Option(help="Also run the scheduler process.")] = True,
) -> None:
    """Start the web app (and the scheduler beside it); Ctrl-C stops both.

    The first start brings the database up to date, loads the demo into an empty store and creates
    the `admin` account (password from CHASM_ADMIN_PASSWORD, or a printed one-time password).
    """
    # The first-start work imports the store and pandas: done in a process of its own, so this one,
    # which only watches the app and the scheduler, stays small.
    done = subprocess.run([sys.executable, "-c", "from app.cli.serve import _first_start; _first_start()"],
                          stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:  # it said why on stderr
        raise typer.Exit(done.returncode)
    *said, upload_megabytes = done.stdout.splitlines()
    for message in said:
        typer.echo(message)
    _interrupt_on_signals()
    processes = []
    if scheduler:
        processes.append(subprocess.Popen(scheduler_command()))
    web = subprocess.Popen(streamlit_command(port, address, int(upload_megabytes)), env=web_environment())
    processes.append(web)
    typer.echo(f"Chasm is at http://{address}:{port} (Ctrl-C stops it).")
    try:
        while web.poll() is None:
            if scheduler and processes[0].poll() is not None and processes[0].returncode is not None:
                typer.echo(f"The scheduler stopped (exit {processes[0].returncode}); the app keeps running.",
                           err=True)
                scheduler = False
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("Stopping Chasm...")
    finally:
        _stop(processes)
    if web.returncode not in (0, None, -15):
        raise typer.Exit(web.returncode)


def _first_start() -> None:
    """Bring the store up to date, load the demo into an empty one, create `admin`.

    Run by `chasm serve` in a process of its own; prints what to tell the user, then the upload
    limit in MB for the web app on the last line.
    """
    from app.services.optimiser import ensure_menu, menu_file
    from app.services.settings import get_settings
    from db.accounts import ensure_admin
    from db.demo import prepare_first_start
    from db.engine import get_engine

    said: list[str] = []
    engine = get_engine()
    if prepare_first_start(engine) is not None:
        said.append("Loaded the demo organisation (first start).")
    if ensure_menu():
        said.append(f"Copied the intervention menu to {menu_file()} (edit it on the Plan page).")
    password = get_settings().admin_password
    generated = ensure_admin(engine, password.get_secret_value() if password else None)
    if generated:
        said.append(f"Created the account 'admin' with the one-time password: {generated}\n"
                    "Sign in and change it on the Admin page (or `chasm users passwd admin`).")
    engine.dispose()
    print("\n".join([*said, str(_upload_megabytes())]), flush=True)


def _interrupt_on_signals() -> None:
    """Ctrl-C and `kill` both end in the same clean stop of the children (even when started in the
    background, where SIGINT is ignored by default)."""
    def interrupt(signum, frame):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _password(password: str | None) -> str:
    if password is not None:
        return password
    return typer.prompt("Password (8+ characters)", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (or the e-mail used for single sign-on).")],
    role: Annotated[str, typer.Option(help="viewer, editor or admin.")] = "viewer",
    password: Annotated[str | None, typer.Option(help="Password (prompted for when omitted).")] = None,
) -> None:
    """Create an account."""
    from db.accounts import AccountError, add_user

    engine = open_store()
    try:
        add_user(engine, name=name, role=role, password=_password(password))
    except AccountError as error:
        raise fail(str(error)) from None
    typer.echo(f"Added {name} as {role}.")


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password: Annotated[str | None, typer.Option(help="New password (prompted for when omitted).")] = None,
) -> None:
    """Set a new password for an account."""
    from db.accounts import AccountError, set_password

    engine = open_store()
    try:
        set_password(engine, name=name, password=_password(password))
    except AccountError as error:
        raise fail(str(error)) from None
    typer.echo(f"Set a new password for {name}.")


@users_app.command("unlock")
def users_unlock(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Lift the sign-in locks on an account (from every address) and forget its failures."""
    from db.accounts import AccountError, unlock

    try:
        locked = unlock(open_store(), name=name)
    except AccountError as error:
        raise fail(str(error)) from None
    typer.echo(f"Unlocked {name} ({locked} locked address(es))." if locked else f"{name} was not locked.")


@users_app.command("list")
def users_list() -> None:
    """List the accounts and their roles."""
    from db.accounts import users

    frame = users(open_store())
    if frame.empty:
        typer.echo("No accounts yet: `chasm serve` creates admin, or `chasm users add NAME --role admin`.")
        return
    for row in frame.itertuples():
        typer.echo(f"{row.name:<30} {row.role}")
