"""Names people typed are shown as text: Markdown in them is escaped wherever a page quotes them."""

import pytest

from app.web.components.text import WORD_JOINER, plain
from db import forecasts
from tests.app.conftest import signed_in, texts

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


def test_a_facility_name_with_markdown_is_quoted_as_text_in_the_trackers_alert(engine):
    forecasts.add_alert(engine, kind="deviation", facility=NAME, message=f"{NAME} is below the band.")
    try:
        [warning] = [w for w in texts(signed_in("viewer").warning) if "Alert" in w]
        assert warning == f"**Alert ({plain(NAME)}):** {plain(NAME)} is below the band."
        assert "**Big**" not in warning and "](http://" not in warning
    finally:
        for alert_id in forecasts.open_alerts(engine)["id"]:
            forecasts.acknowledge_alert(engine, int(alert_id))
