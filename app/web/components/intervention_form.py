"""The intervention log, editable in place (a part of the Upload page, not a page).

Rows are edited, added (the last, empty row) and deleted (tick the row, then the bin) in one
table; "Save the log" stores every change in one transaction through `db.interventions`.
"""

import pandas as pd
import streamlit as st

from app.services.recorded import describe_replay
from app.web import resources
from app.web.components.text import plain
from db.errors import IngestError
from db.interventions import INTERVENTION_KINDS, save_intervention_log

ALL = "(all facilities)"
EDITABLE = ["week_start", "facility", "kind", "description"]


def editor_frame(log: pd.DataFrame) -> pd.DataFrame:
    """The stored log as the editor shows it: ALL for organisation-wide entries, replayed levers as text."""
    levers = [describe_replay(kind, settings) or "nothing (context only)"
              for kind, settings in zip(log["kind"], log["settings"], strict=True)]
    return pd.DataFrame({"id": log["id"].astype("Int64"), "week_start": log["week_start"],
                         "facility": log["facility"].fillna(ALL), "kind": log["kind"],
                         "description": log["description"], "levers": levers})


def log_changes(edited: pd.DataFrame) -> pd.DataFrame:
    """Editor rows -> the frame `save_intervention_log` takes ("" facility: the whole organisation).

    Wholly empty new rows (the editor's spare row) are dropped.
    """
    rows = edited[["id", *EDITABLE]]
    rows = rows[~(rows["id"].isna() & rows[EDITABLE].isna().all(axis=1))]
    return rows.assign(facility=rows["facility"].fillna(ALL).replace(ALL, "")).reset_index(drop=True)


def intervention_log(user: str) -> None:
    """Draw the log as an editable table with a save button."""
    if notice := st.session_state.pop("intervention_notice", None):
        st.success(plain(notice))
    log = resources.interventions()
    shown = editor_frame(log)
    facilities = sorted(resources.weekly_metrics()["facility"].unique())
    version = st.session_state.setdefault("intervention_form_version", 0)
    st.caption("Edit a cell to correct an entry, add one in the empty last row (leave the facility as "
               f"{ALL} for the whole organisation), or tick rows and press the bin to delete them. "
               "Nothing is stored until you save.")
    rows_high = 35 * (len(shown) + 2) + 3  # every entry and the spare row for a new one, no inner scroll
    edited = st.data_editor(shown, num_rows="dynamic", key=f"intervention_log_{version}", hide_index=True,
                            width="stretch", height=min(rows_high, 35 * 22),
                            column_order=[*EDITABLE, "levers"], column_config={
        "week_start": st.column_config.DateColumn("Week of", required=True, format="YYYY-MM-DD"),
        "facility": st.column_config.SelectboxColumn("Facility", options=[ALL, *facilities], default=ALL),
        "kind": st.column_config.SelectboxColumn("Kind", options=list(INTERVENTION_KINDS), required=True),
        "description": st.column_config.TextColumn("Description", required=True, width="large"),
        "levers": st.column_config.TextColumn("Replayed by the forecast", disabled=True,
                                              help="Lever values the forecast and calibration replay from "
                                                   "this week (the kind's defaults unless the entry "
                                                   "carries its own)")})
    changes = st.session_state.get(f"intervention_log_{version}", {})
    dirty = any(changes.get(k) for k in ("edited_rows", "added_rows", "deleted_rows"))
    if not st.button("Save the log", type="primary", disabled=not dirty):
        return
    try:
        done = save_intervention_log(resources.engine(), log_changes(edited),
                                     shown_ids=[int(i) for i in log["id"]])
    except IngestError as error:
        st.error(f"**The log was not saved: {len(error.problems)} problem(s).** Nothing was changed; "
                 "correct these rows (numbered from the top of the table) and save again.")
        st.dataframe(pd.DataFrame([p.as_dict() for p in error.problems]), hide_index=True)
        return
    resources.clear_reads()
    st.session_state["intervention_form_version"] = version + 1
    st.session_state["intervention_notice"] = (
        f"Saved the intervention log: {done.added} added, {done.updated} changed, {done.deleted} deleted "
        f"(by {user}).")
    st.rerun()
