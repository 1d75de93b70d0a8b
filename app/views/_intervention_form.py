"""Adding entries to the intervention log (a part of the Upload page, not a page)."""

from datetime import date

import pandas as pd
import streamlit as st

from app import resources
from db.interventions import INTERVENTION_KINDS, record_interventions

ALL = "(all facilities)"


def _blank() -> pd.DataFrame:
    return pd.DataFrame({"week_start": pd.Series([], dtype="object"), "facility": pd.Series([], dtype=str),
                         "kind": pd.Series([], dtype=str), "description": pd.Series([], dtype=str)})


def log_entries(rows: pd.DataFrame) -> pd.DataFrame:
    """Editor rows -> the frame `record_interventions` takes ("" facility: the whole organisation).

    Raises:
        ValueError: rows without a week, a kind or a description (how many, and what to do).
    """
    rows = rows.dropna(how="all")
    blank = rows["description"].fillna("").astype(str).str.strip() == ""
    missing = rows[["week_start", "kind"]].isna().any(axis=1) | blank
    if missing.any():
        raise ValueError(f"{int(missing.sum())} row(s) miss a week, a kind or a description: fill them in, "
                         "then add again.")
    # Plain dates in an object column: pandas would turn date objects back into Timestamps.
    weeks = [d if type(d) is date else pd.Timestamp(d).date() for d in rows["week_start"]]
    return rows.assign(
        week_start=pd.Series(weeks, index=rows.index, dtype=object),
        facility=rows["facility"].fillna(ALL).replace(ALL, ""),
        description=rows["description"].astype(str).str.strip()).reset_index(drop=True)


def intervention_form(user: str) -> None:
    facilities = sorted(resources.weekly_metrics()["facility"].unique())
    if notice := st.session_state.pop("intervention_notice", None):
        st.success(notice)
    st.markdown("**Add entries** (one row each; leave facility empty for the whole organisation)")
    version = st.session_state.setdefault("intervention_form_version", 0)
    rows = st.data_editor(_blank(), num_rows="dynamic", key=f"new_interventions_{version}",
                          width="stretch", column_config={
        "week_start": st.column_config.DateColumn("Week of", required=True, format="YYYY-MM-DD"),
        "facility": st.column_config.SelectboxColumn("Facility", options=[ALL, *facilities], default=ALL),
        "kind": st.column_config.SelectboxColumn("Kind", options=list(INTERVENTION_KINDS), required=True),
        "description": st.column_config.TextColumn("Description", required=True)})
    if not st.button("Add to the intervention log", disabled=rows.empty):
        return
    try:
        frame = log_entries(rows)
    except ValueError as error:
        st.error(str(error))
        return
    added = record_interventions(resources.engine(), frame)
    resources.clear_reads()
    st.session_state["intervention_form_version"] = version + 1
    st.session_state["intervention_notice"] = (
        f"Added {added} new entr{'y' if added == 1 else 'ies'} to the intervention log (by {user}).")
    st.rerun()
