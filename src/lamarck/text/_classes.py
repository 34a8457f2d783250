"""The classes a sentence names: "sort these tickets into billing, bug and feature request".

>>> named_classes("sort these tickets into billing, bug and feature request")
['billing', 'bug', 'feature request']
>>> named_classes("classify each review as positive or negative, optimize accuracy, 2 minutes")
['positive', 'negative']
>>> named_classes("label the messages as 'spam' or 'not spam'")
['spam', 'not spam']
>>> named_classes("route tickets to one of the teams: Sales, Support, Legal")
['Sales', 'Support', 'Legal']
>>> named_classes("predict which customers churn") is None
True
"""

from __future__ import annotations

import re

__all__ = ["named_classes"]

_VERBS = r"(sort|classify|categori[sz]e|label|tag|route|group|triage|split|assign|divide|bucket)"
#: what may stand between "into" and the first class ("into the categories", "as one of")
_LEAD = re.compile(
    r"^(one of|either|any of)?\s*(the\s+)?((categories|classes|groups|labels|buckets|teams|topics|kinds|types)"
    r"(\s*:)?\s*)?",
    re.I,
)
#: where the list of classes ends: the budget, the metric, a reason ("in 5 minutes", ", optimize ...")
_END = re.compile(
    r"[;.!?]|,?\s+\b(in|within|under|using|from|based on|by|optimi[sz]e|maximi[sz]e|minimi[sz]e|with)\b\s"
    r"|,\s*(optimi|maximi|minimi|metric|budget|\d)",
    re.I,
)


def named_classes(sentence: str) -> list[str] | None:
    """The two or more classes ``sentence`` sorts things into, in its order; ``None`` when it names none."""
    m = re.search(_VERBS + r"\b.*?\b(into|as|to|among|between)\b\s*:?\s*(.+)$", sentence, flags=re.I)
    if m is None:
        return None
    tail = m.group(3)
    end = _END.search(tail)
    if end is not None:
        tail = tail[: end.start()]
    tail = _LEAD.sub("", tail.strip()).strip(" :")
    parts = re.split(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|vs\.?|versus)\s+|\s*/\s*", tail)
    classes: list[str] = []
    for part in parts:
        name = part.strip().strip("'\"`“”‘’").strip()
        name = re.sub(r"^(a|an|the)\s+", "", name, flags=re.I)
        if name and name.lower() not in (c.lower() for c in classes):
            classes.append(name)
    if len(classes) < 2 or any(len(c) > 60 for c in classes):
        return None
    return classes
