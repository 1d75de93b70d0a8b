"""Facility names as people read them: one facility however the name's characters were typed."""

from __future__ import annotations

import re
import unicodedata

# Characters that show nothing (zero-width spaces and joiners, direction marks, soft hyphen, BOM).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def facility_name(text: str) -> str:
    """The name to store and show: invisible characters removed, NFKC-normalised, spaces collapsed.

    Args:
        text: The name as written in a file or a form.

    Returns:
        The same name whichever Unicode form it came in (decomposed "Zürich" or composed).
    """
    return " ".join(unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).split())


def facility_key(text: str) -> str:
    """How a name is matched to a facility: `facility_name`, case-folded.

    Args:
        text: The name as written in a file, a form or a query.

    Returns:
        The key stored in `facility.name_key`; NFKC is applied again because case folding can
        leave a string unnormalised.
    """
    return unicodedata.normalize("NFKC", facility_name(text).casefold())
