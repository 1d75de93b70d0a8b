"""User-supplied text (facility, file, user and scenario names, messages that quote them) shown as text.

Streamlit renders Markdown in alerts, captions and labels; a facility called `**Big** [x](http://e.vil)`
would come out bold with a link. `plain` backslash-escapes what Markdown reads inside a line
(emphasis, code, links, strike-through, maths) and what it reads at the start of a line (headings,
quotes, lists), and puts an invisible word joiner after a `:` or `@` that touches the next
character and after `www`, which stops emoji and icon shortcodes (`:red[...]`, `:material/home:`)
and bare links or e-mail addresses from being recognised. Ordinary punctuation (`.`, `-`, `: `) is
left alone, so messages read the same. `code` shows text as a code span, literally (Streamlit reads
icon shortcodes even inside code spans, so they get the word joiner too). Checked in chromium
(tests/browser).
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"
_INLINE = re.compile(r"([\\`*_\[\]~$<&])")
_LINE_START = re.compile(r"^(\s*)(\d*)([#>+\-=.)])", re.MULTILINE)
_SHORTCODE_OR_LINK = re.compile(r"(?i)([:@](?=\S)|www)")


def plain(text: object) -> str:
    """`text` as Markdown that displays exactly as written."""
    escaped = _INLINE.sub(r"\\\1", str(text))
    escaped = _LINE_START.sub(lambda m: m.group(1) + m.group(2) + "\\" + m.group(3), escaped)
    return _SHORTCODE_OR_LINK.sub(lambda m: m.group(1) + WORD_JOINER, escaped)


def code(text: object) -> str:
    """`text` as a Markdown code span that displays exactly as written, whatever backticks it holds."""
    text = re.sub(r":(?=\S)", ":" + WORD_JOINER, str(text).replace("\n", " "))  # icons reach in: `:x/y:`
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
