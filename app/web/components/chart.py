"""Drawing an Altair chart at its designed size (a part of every page with charts, not a page)."""

import streamlit as st

from app.services.charts import frame_height


def show_chart(chart, where=None) -> None:
    """Draw `chart` full width in `where` (default: the page), its plot at the height it was designed for."""
    (where or st).altair_chart(chart, width="stretch", height=frame_height(chart))
