"""An unexpected error on a page shows an incident id, never a traceback; the log has the details."""

import logging
import re

from app.cli.serve import streamlit_command
from app.services import tracker
from tests.app.conftest import signed_in


def test_a_failing_page_shows_an_incident_id_and_logs_the_traceback(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom in /secret/path/db.py")

    monkeypatch.setattr(tracker, "tracker_view", broken)
    with caplog.at_level(logging.ERROR, logger="chasm.web"):
        at = signed_in("viewer")  # the tracker is the default page; signed_in asserts no exception box
    [error] = [e.value for e in at.error]
    match = re.fullmatch(r"Something went wrong on this page\. Incident ([0-9A-F]{6}): an admin can find "
                         r"the details in the server log\.", error)
    assert match, error
    shown = " ".join(str(e.value) for e in at.main.children.values() if hasattr(e, "value"))
    assert "Traceback" not in shown and "/secret/path" not in shown and "boom" not in shown
    [record] = [r for r in caplog.records if r.name == "chasm.web"]
    assert match.group(1) in record.getMessage() and "Tracker" in record.getMessage()
    assert record.exc_info is not None and "boom in /secret/path" in str(record.exc_info[1])
    assert at.sidebar.button, "the sidebar (menu, sign out) still works after the incident"


def test_the_server_shows_no_error_details_outside_the_pages():
    command = streamlit_command(8765, "127.0.0.1")
    assert command[command.index("--client.showErrorDetails") + 1] == "none"
