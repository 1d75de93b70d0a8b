"""User-supplied names are shown as written in chromium: no bold, link, icon, colour or maths."""

import subprocess
import sys
import time
import urllib.request

from playwright.sync_api import expect

from devtools.browser import free_port

NAME = ("**Big** [x](http://e.vil) # H :red[x] $x^2$ <b>b</b> :material/home: :smile: www.e.vil "
        "a@b.com 10:30 Zürich_Plant_ ~~s~~ `c`")
PAGE = f"""
import streamlit as st
from app.web.components.text import code, plain
NAME = {NAME!r}
st.warning(f"Alert (" + plain(NAME) + "): late")
st.caption(plain("# " + NAME))
st.markdown("**Facility** " + plain("1. " + NAME))
st.caption("Plans left out: " + code("`" + NAME + "`"))
"""


def test_names_with_markdown_render_as_text(browser, tmp_path):
    script = tmp_path / "page.py"
    script.write_text(PAGE)
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "streamlit did not start"
                time.sleep(0.3)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_test_id("stAlert").wait_for(timeout=30_000)
        blocks = page.locator("[data-testid=stMarkdownContainer], [data-testid=stCaptionContainer]")
        expect(blocks).to_have_count(4, timeout=30_000)
        expect(blocks.nth(3)).to_contain_text("Plans left out", timeout=30_000)  # code loads lazily
        shown = [t.replace("\u2060", "") for t in blocks.all_inner_texts()]
        assert len(shown) == 4, shown
        assert f"Alert ({NAME}): late" in shown
        assert f"# {NAME}" in shown
        assert f"Facility 1. {NAME}" in shown
        assert f"Plans left out: `{NAME}`" in shown
        markup = ("a, strong:not(:has-text('Facility')), em, h1, h2, h3, ol, ul, del, code, .katex, "
                  "span[data-testid=stIconMaterial]")
        for i in range(3):
            inside = blocks.nth(i).locator(markup)
            assert inside.count() == 0, inside.evaluate_all("els => els.map(e => e.outerHTML)")
        spans = blocks.nth(3).locator("code")  # one code span, nothing rendered inside it
        assert spans.count() == 1 and spans.locator("*").count() == 0, spans.evaluate_all(
            "els => els.map(e => e.outerHTML)")
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
