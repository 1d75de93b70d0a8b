"""The editor corrects the intervention log in place on the Upload page (see conftest.py).

The log is an `st.data_editor`, a canvas grid (glide-data-grid): a cell is reached by a click on
the canvas and the arrow keys, edited in the grid's overlay text box, and read back from the
accessible table the grid keeps for screen readers (`glide-cell-<column>-<row>`, column 0
being the row-marker column). That table sits inside the <canvas> element (fallback content), so
Playwright counts it as hidden: role queries (get_by_role("gridcell")) do not see it, while test ids
and text assertions do. The server is shared by the whole session, so the test puts the demo log
back as it found it.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from playwright.sync_api import expect

from db.engine import create_store_engine
from db.interventions import save_intervention_log
from db.queries import interventions
from devtools.browser import App

pytestmark = pytest.mark.browser

EDITED = "Pilot technicians named champions (edited in the browser)"
ROW_HEIGHT = 35  # Streamlit's default grid row (and header) height, in CSS pixels
DESCRIPTION_COLUMN = 4  # row marker, Week of, Facility, Kind, Description
SAVED_ONE_CHANGE = re.compile(r"^Saved the intervention log: 0 added, 1 changed, 0 deleted")


def _stored_descriptions(engine) -> list[str]:
    return interventions(engine)["description"].tolist()


def _restore_first_description(engine, original: str) -> None:
    """Put the first entry's description back straight through the store (a fallback if the UI
    restore failed), keeping every other entry as it is."""
    log = interventions(engine)
    if log.empty or log["description"].iloc[0] == original:
        return
    frame = log[["id", "week_start", "facility", "kind", "description"]].copy()
    frame.loc[frame.index[0], "description"] = original
    save_intervention_log(engine, pd.DataFrame(frame), shown_ids=[int(i) for i in log["id"]])


def _log_editor(app: App):
    """The intervention log's data editor (the upload history is a read-only grid beside it)."""
    editor = app.main.get_by_test_id("stDataFrame").filter(
        has=app.page.locator("th[role=columnheader]", has_text="Replayed by the forecast"))
    expect(editor).to_have_count(1)
    return editor


def _first_description_cell(app: App):
    return _log_editor(app).get_by_test_id(f"glide-cell-{DESCRIPTION_COLUMN}-0")


def _save_button(app: App):
    return app.main.get_by_role("button", name="Save the log", exact=True)


def _open_the_log(app: App) -> None:
    app.open("Upload", "Upload weekly metrics")
    app.main.get_by_role("heading", name="Intervention log", exact=True).scroll_into_view_if_needed()
    _log_editor(app).scroll_into_view_if_needed()
    app.wait_idle()


def _edit_first_description(app: App, text: str) -> None:
    """Type `text` into the first row's Description cell, as a user would: click the row's first
    cell, arrow right to Description, Enter to open the cell editor, replace its text, Enter."""
    editor, cell = _log_editor(app), _first_description_cell(app)
    editor.click(position={"x": 60, "y": ROW_HEIGHT * 1.5})  # past the row marker, in "Week of"
    expect(editor.get_by_test_id("glide-cell-1-0")).to_have_attribute("aria-selected", "true")
    for _ in range(DESCRIPTION_COLUMN - 1):
        app.page.keyboard.press("ArrowRight")
    expect(cell).to_have_attribute("aria-selected", "true")
    app.page.keyboard.press("Enter")
    box = app.page.locator("textarea.gdg-input")
    expect(box).to_be_visible()
    box.press("ControlOrMeta+a")
    box.press_sequentially(text)
    expect(box).to_have_value(text)
    # The grid's Enter handler commits the value of its last React render, not the box's DOM value:
    # let a frame pass after the last keystroke (as any typist does) or a busy machine loses the edit.
    app.next_frames()
    box.press("Enter")
    expect(box).to_have_count(0)
    expect(cell).to_have_text(text)
    app.wait_idle()


def _save(app: App) -> str:
    button = _save_button(app)
    expect(button).to_be_enabled()
    button.click()
    notice = app.main.get_by_test_id("stAlert").filter(has_text="Saved the intervention log")
    expect(notice).to_have_count(1)
    app.wait_idle()
    return notice.inner_text().strip()


def test_editor_corrects_an_intervention_in_the_log(app: App) -> None:
    engine = create_store_engine(app.server.env["CHASM_DATABASE_URL"])
    before = _stored_descriptions(engine)
    assert before, "the demo intervention log should not be empty"
    original = before[0]
    assert original != EDITED
    try:
        app.sign_in("editor")
        _open_the_log(app)
        editor, cell = _log_editor(app), _first_description_cell(app)
        expect(editor.locator("th[role=columnheader]")).to_have_text(
            ["Week of", "Facility", "Kind", "Description", "Replayed by the forecast"])
        expect(editor.get_by_test_id(f"glide-cell-{DESCRIPTION_COLUMN}-0")).to_have_attribute(
            "aria-readonly", "false")
        expect(editor.get_by_test_id(f"glide-cell-{DESCRIPTION_COLUMN + 1}-0")).to_have_attribute(
            "aria-readonly", "true")  # the replayed levers are computed, not typed
        expect(cell).to_have_text(original)
        expect(_save_button(app)).to_be_disabled()

        _edit_first_description(app, EDITED)
        assert _stored_descriptions(engine) == before, "nothing is stored before the save"
        notice = _save(app)
        assert SAVED_ONE_CHANGE.match(notice), notice
        assert "(by erin)" in notice, notice
        assert _stored_descriptions(engine) == [EDITED, *before[1:]], "only the first entry changes"
        expect(_save_button(app)).to_be_disabled()  # a fresh editor: nothing edited yet
        expect(cell).to_have_text(EDITED)
        _log_editor(app).scroll_into_view_if_needed()
        app.shoot("upload-intervention-log")

        # Another page and back: the grid is drawn again from the store.
        app.open("Tracker", "Adoption tracker")
        _open_the_log(app)
        expect(app.main.get_by_text("Saved the intervention log")).to_have_count(0)  # shown once
        expect(cell).to_have_text(EDITED)
        expect(_save_button(app)).to_be_disabled()

        # Put it back through the UI, so the rest of the session sees the demo log.
        _edit_first_description(app, original)
        assert SAVED_ONE_CHANGE.match(_save(app))
        expect(cell).to_have_text(original)
        assert _stored_descriptions(engine) == before
    finally:
        _restore_first_description(engine, original)
        engine.dispose()
