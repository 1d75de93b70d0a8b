"""Upload: validate a metrics file (nothing written), then commit it; the history; the intervention log."""

import pandas as pd
import streamlit as st

from app.web import resources
from app.web.components.intervention_form import intervention_log
from app.web.components.text import plain
from db.csvsafe import csv_text
from db.errors import IngestError
from db.ingest import IngestReport, ingest_bytes
from db.ingest.limits import human_size

account = st.session_state["account"]
st.title("Upload weekly metrics")
limit = human_size(resources.settings().store.upload_max_bytes)
st.caption(f"Facility-week or technician-week files, CSV or XLSX, up to {limit}. The file is checked first; "
           "nothing is stored until you commit it, and a rejected file changes nothing.")

file = st.file_uploader("Metrics file (CSV or XLSX)", type=["csv", "xlsx"])
if file is not None:
    content = file.getvalue()
    checked = st.session_state.get("upload_check")
    if checked is None or checked[0] != (file.name, len(content), file.file_id):
        with st.spinner(f"Checking {plain(file.name)}..."):
            result: IngestReport | IngestError  # a rejection is shown, not raised
            try:
                result = ingest_bytes(content, file.name, engine=resources.engine(), dry_run=True,
                                      uploaded_by=account.name)
            except IngestError as error:
                result = error
        st.session_state["upload_check"] = checked = ((file.name, len(content), file.file_id), result)
    result = checked[1]
    if isinstance(result, IngestError):
        st.error(f"**{plain(file.name)} cannot be stored: {result.total} problem(s).** Nothing was "
                 "written. Fix each problem below in your file (rows are numbered as in a spreadsheet, "
                 "the header is row 1) and upload it again.")
        problems = pd.DataFrame([p.as_dict() for p in result.problems])
        st.dataframe(problems, hide_index=True, width="stretch")
        st.download_button("Download the problems as CSV", csv_text(problems),
                           file_name=f"{file.name}.problems.csv", mime="text/csv")
    elif result.dry_run:
        st.success(f"**{plain(file.name)}** ({result.kind}) is valid: {result.inserted} new rows, "
                   f"{result.updated} updated, {result.unchanged} unchanged. Nothing is stored yet.")
        for warning in result.warnings:
            st.warning(plain(warning))
        if st.button("Commit upload", type="primary"):
            with st.spinner(f"Storing {plain(file.name)}..."):
                done: IngestReport | IngestError
                try:
                    done = ingest_bytes(content, file.name, engine=resources.engine(),
                                        uploaded_by=account.name)
                except IngestError as error:  # the store changed since the check
                    done = error
            resources.clear_reads()
            st.session_state["upload_check"] = (checked[0], done)
            st.rerun()
    else:
        st.success(f"**Stored {plain(file.name)}**: {result.inserted} inserted, {result.updated} updated, "
                   f"{result.unchanged} unchanged (upload {result.upload_id}). The tracker shows it now.")

st.subheader("Upload history")
history = resources.uploads()
if history.empty:
    st.info("No uploads yet: choose a file above, or load the demo with `chasm demo load`.")
else:
    st.dataframe(history, hide_index=True, width="stretch", column_order=[
        "id", "uploaded_at", "file_name", "kind", "outcome", "inserted", "updated", "unchanged",
        "uploaded_by"],
        column_config={
        "id": st.column_config.NumberColumn("Upload", format="%d"),
        "uploaded_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
        "file_name": "File", "kind": "Kind", "outcome": "Outcome", "uploaded_by": "By",
        "inserted": st.column_config.NumberColumn("Inserted", format="%d"),
        "updated": st.column_config.NumberColumn("Updated", format="%d"),
        "unchanged": st.column_config.NumberColumn("Unchanged", format="%d")})

st.subheader("Intervention log")
st.caption("What the organisation did and when; the forecast and the simulator compare against it.")
intervention_log(account.name)
