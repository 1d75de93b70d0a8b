"""The application's one settings class: every setting from its CHASM_ variable, and no other reader."""

import ast
from pathlib import Path

import pytest

from app.services import alerts, calibration
from app.services.settings import AppSettings, ForecastSettings, Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULES = {"app/services/settings.py", "db/config.py"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith("CHASM_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize("variable, value, read, expected", [
    ("CHASM_TARGET_SHARE", "0.8", lambda s: s.target_share, 0.8),
    ("CHASM_WAGE_PER_HOUR", "50", lambda s: s.costs().wage_per_hour, 50.0),
    ("CHASM_CHAMPION_HOURS_PER_WEEK", "6", lambda s: s.costs().champion_hours_per_week, 6.0),
    ("CHASM_DOWNTIME_HOURS_PER_WEEK", "90", lambda s: s.costs().downtime_hours_per_week, 90.0),
    ("CHASM_DOWNTIME_COST_PER_HOUR", "250", lambda s: s.costs().downtime_cost_per_hour, 250.0),
    ("CHASM_SESSION_IDLE_MINUTES", "45", lambda s: s.session_idle_minutes, 45),
    ("CHASM_INACTIVE_WEEKS", "5", lambda s: s.inactive_weeks, 5),
    ("CHASM_SESSION_SECRET", "s3cret", lambda s: s.session_secret and s.session_secret.get_secret_value(),
     "s3cret"),
    ("CHASM_ADMIN_PASSWORD", "first-start-pass", lambda s: s.admin_password.get_secret_value(),
     "first-start-pass"),
    ("CHASM_DASK_ADDRESS", "tcp://scheduler:8786", lambda s: s.dask_address, "tcp://scheduler:8786"),
    ("CHASM_SMTP_HOST", "mail.example.org", lambda s: s.smtp_host, "mail.example.org"),
    ("CHASM_SMTP_PORT", "587", lambda s: s.smtp_port, 587),
    ("CHASM_SMTP_FROM", "adoption@example.org", lambda s: s.smtp_from, "adoption@example.org"),
    ("CHASM_ALERT_TO", "lead@example.org", lambda s: s.alert_to, "lead@example.org"),
    ("CHASM_DATA_DIR", "/srv/chasm", lambda s: s.store.data_dir, Path("/srv/chasm")),
    ("CHASM_PLANS_DIR", "/srv/plans", lambda s: s.store.resolved_plans_dir, Path("/srv/plans")),
    ("CHASM_FORECAST_CRON", "0 3 * * *", lambda s: s.store.forecast_cron, "0 3 * * *"),
])
def test_each_setting_is_read_from_its_chasm_variable(monkeypatch, variable, value, read, expected):
    default = read(get_settings()) if variable != "CHASM_ADMIN_PASSWORD" else None
    assert default != expected
    monkeypatch.setenv(variable, value)
    assert read(get_settings()) == expected


def test_the_defaults_and_the_old_names():
    settings = get_settings()
    assert (settings.target_share, settings.session_idle_minutes, settings.inactive_weeks) == (0.7, 30, 3)
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.alert_to) == (
        None, 25, "chasm@localhost", None)
    assert settings.dask_address == "" and settings.admin_password is None
    assert ForecastSettings is Settings and AppSettings is Settings


def test_an_empty_variable_counts_as_unset_and_a_bad_one_is_refused(monkeypatch):
    monkeypatch.setenv("CHASM_ADMIN_PASSWORD", "")
    monkeypatch.setenv("CHASM_SMTP_PORT", "")
    assert get_settings().admin_password is None and get_settings().smtp_port == 25
    monkeypatch.setenv("CHASM_TARGET_SHARE", "1.5")
    with pytest.raises(ValueError, match="target_share"):
        get_settings()


def test_the_secret_never_shows(monkeypatch):
    monkeypatch.setenv("CHASM_ADMIN_PASSWORD", "first-start-pass")
    settings = get_settings()
    assert "first-start-pass" not in repr(settings) and "first-start-pass" not in settings.model_dump_json()


def test_only_the_forecast_settings_change_the_forecast_inputs(monkeypatch):
    before = get_settings().forecast_inputs_json()
    monkeypatch.setenv("CHASM_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("CHASM_SESSION_IDLE_MINUTES", "5")
    assert get_settings().forecast_inputs_json() == before
    monkeypatch.setenv("CHASM_WAGE_PER_HOUR", "60")
    assert get_settings().forecast_inputs_json() != before


def test_alert_mail_goes_where_the_settings_say(monkeypatch):
    assert alerts.email_notifier() is None
    monkeypatch.setenv("CHASM_SMTP_HOST", "mail.example.org")
    assert alerts.email_notifier() is None, "no recipient: no mail"
    monkeypatch.setenv("CHASM_ALERT_TO", "lead@example.org")
    monkeypatch.setenv("CHASM_SMTP_PORT", "2525")
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append((host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, mail):
            sent.append((mail["From"], mail["To"], mail.get_content().strip()))

    monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
    alerts.email_notifier()("Adoption left the band.")
    assert sent == [("mail.example.org", 2525), ("chasm@localhost", "lead@example.org",
                                                 "Adoption left the band.")]


def test_calibration_runs_locally_without_a_dask_address():
    assert isinstance(calibration.executor_from_env(), calibration.LocalPool)


READERS = {"environ", "environb", "getenv"}


# Functions that hand this process's environment on to a process they start, not read a setting.
PASSES_THE_ENVIRONMENT_ON = {("app/cli/serve.py", "web_environment")}


def _environment_reads(path: Path, root: Path = ROOT) -> list[str]:
    """`os.environ` / `os.getenv` / `from os import environ, getenv` in one module, as `file:line`
    (outside the functions of PASSES_THE_ENVIRONMENT_ON)."""
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    passed_on = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                 and (str(path.relative_to(root)), node.name) in PASSES_THE_ENVIRONMENT_ON]
    exempt = {id(inner) for function in passed_on for inner in ast.walk(function)}
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        attribute = (isinstance(node, ast.Attribute) and node.attr in READERS
                     and isinstance(node.value, ast.Name) and node.value.id == "os")
        imported = (isinstance(node, ast.ImportFrom) and node.module == "os"
                    and any(alias.name in READERS for alias in node.names))
        if attribute or imported:
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_the_check_finds_a_read(tmp_path):
    module = tmp_path / "sneaky.py"
    module.write_text('"""os.environ in a docstring is fine."""\nimport os\nfrom os import getenv\n\n'
                      'HOST = os.environ.get("CHASM_SMTP_HOST")\n')
    assert _environment_reads(module, tmp_path) == ["sneaky.py:3", "sneaky.py:5"]


def test_the_check_lets_a_module_hand_the_environment_on_only_where_it_says(tmp_path):
    module = tmp_path / "app" / "cli" / "serve.py"
    module.parent.mkdir(parents=True)
    module.write_text("import os\n\n\ndef web_environment():\n    return dict(os.environ)\n\n\n"
                      "def other():\n    return os.getenv('CHASM_PORT')\n")
    assert _environment_reads(module, tmp_path) == ["app/cli/serve.py:9"]


def test_no_module_reads_the_environment_but_the_settings():
    modules = [p for room in ("app", "model", "db") for p in sorted((ROOT / room).rglob("*.py"))]
    assert len(modules) > 20
    reads = [read for path in modules if str(path.relative_to(ROOT)) not in SETTINGS_MODULES
             for read in _environment_reads(path)]
    assert reads == [], "read settings through app.services.settings.get_settings() (or db.config)"
