"""Names people typed are shown as text: Markdown in them is escaped wherever a page quotes them."""

import pytest

from app.services import snapshots as forecast_documents
from app.web.components.text import WORD_JOINER, code, plain
from db import forecasts
from db.queries import uploads
from tests.app.conftest import signed_in, texts
from tests.app.helpers import forecast_doc

NAME = "**Big** [x](http://e.vil) # H :red[x] $x$"


@pytest.mark.parametrize(("text", "markdown"), [
    ("**Big** plant", r"\*\*Big\*\* plant"),
    ("[x](http://e.vil)", rf"\[x\](http:{WORD_JOINER}//e.vil)"),
    (":red[x] :material/home:", rf":{WORD_JOINER}red\[x\] :{WORD_JOINER}material/home:"),
    ("$x^2$ `c` ~~s~~ <b>", r"\$x^2\$ \`c\` \~\~s\~\~ \<b>"),
    ("# H\n1. one\n- two", "\\# H\n1\\. one\n\\- two"),
    ("Row 2, column 'week': not a date (2025-03-03).", "Row 2, column 'week': not a date (2025-03-03)."),
])
def test_plain_escapes_markdown_and_leaves_ordinary_text_alone(text, markdown):
    assert plain(text) == markdown


@pytest.mark.parametrize(("text", "markdown"), [
    ("late.toml", "`late.toml`"), ("a`b", "``a`b``"), ("`x", "`` `x ``"), ("**b** $x$", "`**b** $x$`"),
    (":material/home:", f"`:{WORD_JOINER}material/home:`"),
])
def test_code_fences_any_backticks_the_text_holds(text, markdown):
    assert code(text) == markdown


def test_a_facility_name_with_markdown_is_quoted_as_text_in_the_trackers_alert(engine):
    forecasts.add_alert(engine, kind="deviation", facility=NAME, message=f"{NAME} is below the band.")
    try:
        [warning] = [w for w in texts(signed_in("viewer").warning) if "Alert" in w]
        assert warning == f"**Alert ({plain(NAME)}):** {plain(NAME)} is below the band."
        assert "**Big**" not in warning and "](http://" not in warning
    finally:
        for alert_id in forecasts.open_alerts(engine)["id"]:
            forecasts.acknowledge_alert(engine, int(alert_id))


def test_an_uploaded_facility_name_is_quoted_as_text_in_the_check_warning(engine):
    name = "=" + NAME  # a formula-like name: the check warns and quotes it
    content = ("Site,Week of,Headcount,Active users,Work orders,AI-assisted work orders\n"
               f'"{name}",2026-11-16,10,5,40,10\n').encode()
    before = len(uploads(engine))
    at = signed_in("editor", "upload")
    at.file_uploader[0].set_value(("big [x](http://e.vil).csv", content, "text/csv")).run()
    assert not at.exception and not at.error, texts(at.error)
    [checked] = texts(at.success)
    assert checked.startswith(f"**{plain('big [x](http://e.vil).csv')}** (facility-week) is valid")
    quoting = [w for w in texts(at.warning) if "Big" in w]  # the formula warning, the new facility
    assert len(quoting) == 2 and all(plain(f"'{name}'") in w for w in quoting), quoting
    assert not [w for w in quoting if "**Big**" in w or "](http://" in w]
    assert len(uploads(engine)) == before, "only checked: the shared store is unchanged"


def test_a_plan_name_with_markdown_is_text_in_the_forecast_metric_and_headline(monkeypatch):
    doc = forecast_doc()
    doc.plans[1].plan = NAME
    doc.ranking.by_probability[0] = NAME
    doc.recommended = NAME
    monkeypatch.setattr(forecast_documents, "latest_forecast", lambda engine, facility=None: doc)
    at = signed_in("viewer", "forecast")
    assert f"Recommended: {plain(NAME)}" in [m.label for m in at.metric]
    [headline] = [m.value for m in at.markdown if "We recommend" in m.value]
    assert f"We recommend {plain(NAME)}: a 58% chance" in headline and "](http://" not in headline
