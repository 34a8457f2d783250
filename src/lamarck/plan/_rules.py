"""The offline rule planner: a sentence and a table → a :class:`TaskSpec`, deterministic.

>>> import pandas as pd
>>> f = pd.DataFrame({"sqft": [50, 80, 120, 60] * 10, "price": [1.0, 2.5, 3.1, 1.7] * 10})
>>> spec = RulePlanner().plan(f, "how much will the house sell for? minimize MAE, in 2 minutes")
>>> spec.target, spec.task, spec.metric, spec.time_budget_s
('price', 'regression', 'mae', 120.0)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from lamarck.errors import PlanError
from lamarck.evaluate import DEFAULT_METRIC, METRICS
from lamarck.plan._spec import Reason, TaskSpec, TaskType

__all__ = [
    "RulePlanner",
    "asked_metric",
    "check_metric_words",
    "closest_columns",
    "closest_metrics",
    "column_description",
    "infer_task",
    "nearest_by_meaning",
    "parse_budget",
    "parse_exclusions",
    "parse_latency",
    "parse_metric",
]

_METRIC_PATTERNS: list[tuple[str, str]] = [
    (r"\b(pr[ -]?auc|average precision|area under the precision)", "average_precision"),
    (r"\b(roc[ -]?auc|auc|area under the (roc )?curve)\b", "roc_auc"),
    (r"\b(log[ -]?loss|cross[ -]?entropy|calibrated probabilit)", "log_loss"),
    (r"\b(balanced accuracy)\b", "balanced_accuracy"),
    (r"\b(macro[ -]?f1|f1[ -]?macro)\b", "f1_macro"),
    (r"\b(f1|f-score|f score|f-measure)\b", "f1"),
    (r"\b(rmse|root mean squared? error)\b", "rmse"),
    (r"\b(mae|mean absolute error)\b", "mae"),
    (r"\b(mape|mean absolute percentage error)\b", "mape"),
    (r"\b(r2|r²|r-squared|r squared|coefficient of determination)\b", "r2"),
    (r"\b(accuracy|accurate)\b", "accuracy"),
]
#: words that ask for a metric: what follows them must name one (``optimize AUCC`` is an error, not the
#: default metric). ``metric`` counts at the start of a clause or before ``:``/``=``/``is``, so a sentence
#: such as "predict metric tons" is not read as asking for one.
_METRIC_ASK = re.compile(
    r"(?:\b(?:optimi[sz]e|maximi[sz]e|minimi[sz]e)\b(?:\s+for)?"
    r"|\b(?:rank|ranked|score|scored|judge|judged|measure|measured|evaluate|evaluated)\s+(?:it\s+|them\s+)?by\b"
    r"|\bmetric\s*(?:[:=]|\bis\b)"
    r"|(?:^|[,;.!?(])\s*(?:(?:the|with|using|use)\s+(?:the\s+)?)?metric\b)"
    r"\s*(?P<words>[^,;.!?()]*)",
    flags=re.IGNORECASE,
)
#: where the asked-for words end: a budget, an exclusion or the next clause
_METRIC_WORDS_END = re.compile(
    r"\s+(?:in|under|within|while|but|and|using|from|with|without|on|per|ignore|ignoring|exclude|excluding|"
    r"don'?t|do not|drop|dropping|please|pls)\b.*$|\s+\d.*$",
    flags=re.IGNORECASE,
)
#: words after "optimize" that name no metric on purpose ("optimize it", "maximize performance")
_VAGUE = {
    "", "it", "this", "that", "them", "everything", "performance", "the performance", "results",
    "the results", "quality", "the quality", "the model", "model", "score", "the score", "the metric",
    "metric", "predictions", "the predictions",
}  # fmt: skip
#: how users spell each metric, to suggest the nearest one for an unknown word
_METRIC_SPELLINGS: dict[str, str] = {
    **{name: name for name in METRICS},
    **{name.replace("_", " "): name for name in METRICS},
    "auc": "roc_auc",
    "roc": "roc_auc",
    "roc auc": "roc_auc",
    "pr auc": "average_precision",
    "precision": "average_precision",
    "logloss": "log_loss",
    "cross entropy": "log_loss",
    "macro f1": "f1_macro",
    "f score": "f1",
    "mean absolute error": "mae",
    "root mean squared error": "rmse",
    "mse": "rmse",
    "r squared": "r2",
    "mean absolute percentage error": "mape",
}
_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
}
_WORDNUM = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "half a": 0.5,
    "half an": 0.5,
}
_SYNONYMS: dict[str, set[str]] = {
    "price": {"cost", "costs", "value", "worth", "sell", "sold", "sale", "sells", "priced"},
    "churn": {"churns", "churned", "leave", "leaves", "cancel", "cancels", "quit", "attrition"},
    "death": {
        "die",
        "dies",
        "died",
        "dead",
        "mortality",
        "survive",
        "survival",
        "survived",
        "alive",
        "status",
    },
    "deny": {"denied", "denial", "deny", "reject", "rejected", "approved", "approval"},
    "wage": {"wages", "salary", "income", "earn", "earnings", "pay"},
    "vote": {"voted", "voting", "votes", "voter", "turnout", "chose", "choose", "choice"},
    "species": {"kind", "type", "variety"},
    "default": {"defaults", "defaulted"},
    "fraud": {"fraudulent"},
    "spam": {"spammy"},
    "click": {"clicks", "clicked"},
    "height": {"tall"},
    "lfp": {"labour force", "labor force", "participate", "participation"},
    "segment": {"segments", "region", "regions"},
    "choice": {"choose", "chose", "chosen", "pick", "picks", "select", "selects"},
    "status": {"alive", "dead", "survive", "survives", "survived", "survival", "outcome"},
    "child": {"kid", "kids", "son", "sons", "daughter", "daughters"},
}
_POSITIVE_WORDS = (
    "dead",
    "death",
    "died",
    "die",
    "deceased",
    "yes",
    "true",
    "churn",
    "fraud",
    "default",
    "denied",
    "deny",
    "spam",
    "positive",
    "fail",
    "failure",
    "sick",
    "disease",
    "malignant",
    "phishing",
)
_TARGET_VERBS = r"(predict|estimate|forecast|classify|detect|model|guess|tell|determine|identify|find out|will|which|how much|how many|what)"
_STOP = {
    "the",
    "a",
    "an",
    "of",
    "is",
    "be",
    "will",
    "whether",
    "each",
    "this",
    "that",
    "what",
    "which",
    "who",
    "how",
    "much",
    "many",
    "do",
    "does",
    "to",
    "for",
    "in",
    "on",
    "and",
    "or",
    "it",
    "gets",
    "get",
    "its",
    "optimize",
    "maximize",
    "minimize",
    "best",
    "lowest",
    "highest",
    "with",
    "predict",
    "estimate",
    "classify",
    "detect",
    "forecast",
    "from",
    "using",
    "given",
    "based",
    "by",
    "at",
    "end",
    "their",
    "his",
    "her",
}


def _norm(text: str) -> str:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text))
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ials", "ial", "ied", "ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _tokens(text: str) -> list[str]:
    return [w for w in _norm(text).split() if w]


#: a metric's own name written as one word ("roc_auc", "log_loss"), read as its words
_METRIC_NAMES = re.compile(r"\b(" + "|".join(n for n in METRICS if "_" in n) + r")\b")


def parse_metric(text: str) -> tuple[str, str] | None:
    """The metric named in ``text`` and the words that named it; a metric's own name counts too.

    >>> parse_metric("predict churn, optimize AUC"), parse_metric("optimize average_precision")
    (('roc_auc', 'auc'), ('average_precision', 'average precision'))
    """
    low = _METRIC_NAMES.sub(lambda m: m.group(0).replace("_", " "), text.lower())
    for pattern, name in _METRIC_PATTERNS:
        m = re.search(pattern, low)
        if m:
            return name, m.group(0)
    return None


def asked_metric(text: str) -> str | None:
    """The words after "optimize", "maximize", "minimize", "metric:", "rank by"... when they name no known
    metric (``None`` when ``text`` names a known one, or asks for none).

    >>> asked_metric("predict churn, optimize AUCC in 2 minutes"), asked_metric("optimise banana score")
    ('AUCC', 'banana score')
    >>> asked_metric("predict churn, optimize AUC"), asked_metric("predict metric tons of steel")
    (None, None)
    """
    if parse_metric(text) is not None:
        return None
    for m in _METRIC_ASK.finditer(text):
        words = _METRIC_WORDS_END.sub("", m.group("words")).strip(" :=-'\"")
        words = re.sub(r"^(?:the|a|an|our|my|best|highest|lowest|top)\s+", "", words, flags=re.I).strip()
        if _norm(words) not in _VAGUE and re.search(r"\w", words):
            return words
    return None


def closest_metrics(words: str, n: int = 3) -> list[str]:
    """Known metrics whose names or usual spellings are closest to ``words``.

    >>> closest_metrics("AUCC"), closest_metrics("mse"), closest_metrics("banana score")
    (['roc_auc', 'average_precision'], ['rmse', 'mae'], [])
    """
    kept = [w for w in _norm(words).split() if w not in _VAGUE]  # "banana score" is not "f score"
    keys = [" ".join(kept), *kept]
    found: list[str] = []
    for key in keys:
        for spelling in difflib.get_close_matches(key, list(_METRIC_SPELLINGS), n=n, cutoff=0.6):
            if _METRIC_SPELLINGS[spelling] not in found:
                found.append(_METRIC_SPELLINGS[spelling])
    return found[:n]


def check_metric_words(sentence: str) -> None:
    """A :class:`PlanError` when ``sentence`` asks for a metric ("optimize X") that is not a known one:
    the default metric would otherwise be used without a word.

    >>> check_metric_words("predict churn, optimize AUC in 2 minutes")
    >>> check_metric_words("predict churn, optimize AUCC")
    Traceback (most recent call last):
    ...
    lamarck.errors.PlanError: the sentence asks for the metric 'AUCC', which is not a known metric (closest: roc_auc, average_precision). Fix: name one of accuracy, average_precision, balanced_accuracy, f1, f1_macro, log_loss, mae, mape, r2, rmse, roc_auc in the sentence (e.g. "optimize roc_auc"), or pass --metric NAME.
    """
    words = asked_metric(sentence)
    if words is None:
        return
    near = closest_metrics(words)
    closest = f"closest: {', '.join(near)}" if near else "no known metric is close"
    example = near[0] if near else "roc_auc"
    raise PlanError(
        f"the sentence asks for the metric {words[:60]!r}, which is not a known metric ({closest}). Fix: name "
        f'one of {", ".join(sorted(METRICS))} in the sentence (e.g. "optimize {example}"), or pass '
        "--metric NAME."
    )


def parse_budget(text: str) -> tuple[float, str] | None:
    """Seconds named in ``text`` ("in 2 minutes", "under 30 seconds", "90s", "a minute")."""
    low = text.lower()
    m = re.search(
        r"(\d+(?:\.\d+)?)\s*(seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h)\b", low
    )
    if m:
        return float(m.group(1)) * _UNITS[m.group(2)], m.group(0)
    m = re.search(
        r"\b(half an?|an?|one|two|three|four|five|ten|fifteen|twenty|thirty)\s+(seconds?|minutes?|hours?)\b",
        low,
    )
    if m:
        unit = m.group(2).rstrip("s") + "s"
        return _WORDNUM[m.group(1)] * _UNITS[unit], m.group(0)
    return None


_LATENCY = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|msec|msecs|milliseconds?)\b")


def parse_latency(text: str) -> tuple[float, str] | None:
    """A single-row latency limit named in ``text``, in milliseconds ("answers within 5 ms", "latency under
    2 milliseconds"); any number of milliseconds is one, a budget is never that short.

    >>> parse_latency("predict churn, AUC, 2 minutes, under 5 ms per row")
    (5.0, '5 ms')
    >>> parse_latency("predict churn in 2 minutes") is None
    True
    """
    m = _LATENCY.search(text.lower())
    return (float(m.group(1)), m.group(0)) if m else None


def closest_columns(word: str, columns: list[str], n: int = 5) -> list[str]:
    norm = {_norm(c): c for c in columns}
    found = difflib.get_close_matches(_norm(word), list(norm), n=n, cutoff=0.3)
    return [norm[f] for f in found]


def _match_column(phrase: str, columns: list[str]) -> str | None:
    """The column a short phrase names (exact, normalised, stemmed, then fuzzy)."""
    p = _norm(phrase)
    if not p:
        return None
    by_norm = {_norm(c): c for c in columns}
    if p in by_norm:
        return by_norm[p]
    by_stem = {" ".join(_stem(w) for w in k.split()): c for k, c in by_norm.items()}
    ps = " ".join(_stem(w) for w in p.split())
    if ps in by_stem:
        return by_stem[ps]
    close = difflib.get_close_matches(p, list(by_norm), n=1, cutoff=0.85)
    if close:
        return by_norm[close[0]]
    words = set(p.split())
    containing = [c for k, c in by_norm.items() if words <= set(k.split())]
    return containing[0] if len(containing) == 1 else None


#: labels that say nothing of what a column holds
_GENERIC_VALUES = {"yes", "no", "true", "false", "y", "n", "0", "1", "t", "f", "none", "other", "unknown"}


def _listed_values(sentence: str, frame: pd.DataFrame, candidates: list[str]) -> tuple[str, Reason] | None:
    """The column of labels of which the sentence names two or more (as words, three letters or more, not
    yes / no), when exactly one column has the most of them.

    >>> f = pd.DataFrame({"vote": ["bush", "clinton", "perot"] * 3, "age": range(9)})
    >>> _listed_values("1992: bush, clinton or perot?", f, ["vote", "age"])[0]
    'vote'
    """
    words = set(_tokens(sentence))
    found: list[tuple[int, str, list[str]]] = []
    for c in candidates:
        col = frame[c]
        if not (col.dtype == object or isinstance(col.dtype, pd.StringDtype | pd.CategoricalDtype)):
            continue
        values = [str(v) for v in col.dropna().unique()[:51]]
        if len(values) > 50:
            continue
        named = [v for v in values if len(v) >= 3 and v.lower() not in _GENERIC_VALUES and _norm(v) in words]
        if len(named) >= 2:
            found.append((len(named), c, named))
    found.sort(reverse=True)
    if not found or (len(found) > 1 and found[1][0] == found[0][0]):
        return None
    n, column, labels = found[0]
    return column, Reason(
        source="sentence", text=f"the sentence names {n} of column {column!r}'s labels: {labels}"
    )


#: the least cosine similarity between a sentence and a column's description that names the column by meaning
MEANING_MIN_SIMILARITY = 0.2
#: ... and by at least this much more than the next column's; a sentence of fewer than two words (three
#: letters or more, at most MEANING_MAX_WORD) or longer than MEANING_MAX_CHARS is not read for meaning
MEANING_MIN_MARGIN = 0.02
MEANING_MAX_WORD = 30
MEANING_MAX_CHARS = 1000


def column_description(name: str, col: pd.Series) -> str:
    """A column as words: its name split at case changes, ``_`` and ``.``, and a few of its values when it
    holds a handful of labels (``vote: bush, clinton, perot``).

    >>> column_description("childHeight", pd.Series([1.0, 2.0]))
    'child height'
    >>> column_description("vote", pd.Series(["bush", "perot", "clinton", "bush"]))
    'vote: bush, perot, clinton'
    """
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    words = re.sub(r"[_.\-]+", " ", words).strip().lower()
    if col.dtype == object or isinstance(col.dtype, pd.StringDtype | pd.CategoricalDtype):
        values = [str(v) for v in col.dropna().unique()[:21]]
        if {v.lower() for v in values} <= _GENERIC_VALUES:  # yes / no says nothing of what the column is
            return words
        if 2 <= len(values) <= 20 and all(len(v) <= 30 for v in values):
            return f"{words}: {', '.join(values[:8])}"
    return words


def nearest_by_meaning(
    frame: pd.DataFrame,
    sentence: str,
    candidates: list[str],
    metric: str | None,
    *,
    min_similarity: float | None = None,
    min_margin: float | None = None,
) -> tuple[str, Reason] | None:
    """The column whose description is nearest in meaning to ``sentence`` (sentence embeddings, the
    ``neural`` extra), among the columns whose task fits the metric the sentence names; ``None`` without
    the extra, or when no column comes within :data:`MEANING_MIN_SIMILARITY`. Used when no word of the
    sentence names a column ("will the bank refuse the loan?" for ``deny``)."""
    if not candidates:
        return None
    try:
        from lamarck.text import available, encoder
    except ImportError:  # pragma: no cover - the package is always there; its extra may not be
        return None
    if not available():
        return None
    pool = candidates
    if metric is not None and metric in METRICS:
        fitting = [c for c in candidates if METRICS[metric].fits(infer_task(frame[c])[0])]
        pool = fitting or candidates
    found = parse_metric(sentence)
    asked = sentence.replace(found[1], " ") if found and found[1] in sentence else sentence
    words = [w for w in re.findall(r"[^\W\d_]{3,}", asked) if len(w) <= MEANING_MAX_WORD]
    if len(words) < 2 or len(asked) > MEANING_MAX_CHARS:  # nothing to mean: no guess (an empty sentence,
        return None  # emoji, one word, a pasted document)
    texts = [asked, *(column_description(c, frame[c]) for c in pool)]
    emb = encoder().encode(texts)
    sims = emb[1:] @ emb[0]
    order = sims.argsort()[::-1]
    best = int(order[0])
    if float(sims[best]) < (MEANING_MIN_SIMILARITY if min_similarity is None else min_similarity):
        return None
    margin = MEANING_MIN_MARGIN if min_margin is None else min_margin
    if len(order) > 1 and float(sims[best] - sims[int(order[1])]) < margin:
        return None  # two columns about as near: a guess, not a reading
    text = f"by meaning, {asked.strip()!r} is nearest to column {pool[best]!r} "
    text += f"(cosine {float(sims[best]):.2f}"
    if len(order) > 1:
        text += f"; runner-up {pool[int(order[1])]!r} {float(sims[int(order[1])]):.2f}"
    return pool[best], Reason(source="sentence", text=text + ")")


def parse_exclusions(sentence: str, columns: list[str]) -> list[tuple[str, str]]:
    """(column, words) pairs for "ignore the id column", "don't use age or sex", "exclude a and b"."""
    out: list[tuple[str, str]] = []
    for m in re.finditer(
        r"(ignore|ignoring|don'?t use|do not use|without|exclude|excluding|drop|dropping|not using)\s+(?:the\s+)?"
        r"([\w ,'-]+?)(?:\s+columns?)?(?=[.;!?)]|$|,\s*(?:optimi|maxim|minim|in\s+\d|under|within)|\s+(?:in|under|within)\s+\d)",
        sentence,
        flags=re.IGNORECASE,
    ):
        for part in re.split(r",|\band\b|\bor\b|\bnor\b", m.group(2)):
            part = re.sub(r"\b(the|column|columns|feature|features)\b", " ", part, flags=re.I).strip()
            col = _match_column(part, columns)
            if col is not None:
                out.append((col, m.group(0).strip()))
    return out


def infer_task(y: pd.Series) -> tuple[TaskType, str]:
    """Task type from the target's values, with the data rule that decided it."""
    values = y.dropna()
    n_unique = values.nunique()
    if n_unique == 2:
        return "binary", "target has 2 distinct values"
    if pd.api.types.is_bool_dtype(values):
        return "binary", "target is boolean"
    if not pd.api.types.is_numeric_dtype(values):
        return "multiclass", f"target has {n_unique} distinct text values"
    is_int = bool((values == values.round()).all())
    if is_int and n_unique <= 20 and n_unique < max(0.05 * len(values), 3):
        return "multiclass", f"target has {n_unique} distinct integer values"
    return "regression", f"target is numeric with {n_unique} distinct values"


class RulePlanner:
    """Deterministic, offline planner: the words of the sentence, then the data."""

    def __init__(self, *, default_time_budget_s: float = 60.0) -> None:
        self.default_time_budget_s = default_time_budget_s

    def plan(
        self,
        frame: pd.DataFrame,
        sentence: str,
        *,
        metric: str | None = None,
        target: str | None = None,
        **_: Any,
    ) -> TaskSpec:
        """The spec of ``sentence`` on ``frame``. ``metric``: a metric the caller sets (the ``--metric``
        flag, applied after planning); without it, a sentence that asks for an unknown metric is a
        :class:`PlanError` (see :func:`check_metric_words`). ``target``: the column the caller names (the
        ``--target`` flag): the sentence need not name it, and its metric, budget and exclusions still count."""
        if metric is None:
            check_metric_words(sentence)
        columns = [str(c) for c in frame.columns]
        reasons: dict[str, Reason] = {}
        exclusions = parse_exclusions(sentence, columns)
        excluded = list(dict.fromkeys(c for c, _ in exclusions))
        metric_found = parse_metric(sentence)
        if target is not None and target in columns:
            why = Reason(source="flag", text="--target")
        else:
            target, why = self._target(
                frame, sentence, columns, excluded, metric_found[0] if metric_found else None
            )
        reasons["target"] = why
        task, task_why = infer_task(frame[target])
        low = sentence.lower()
        if (
            task == "multiclass"
            and re.search(r"\b(whether|will|yes or no|or not)\b", low)
            and frame[target].nunique() == 2
        ):
            task = "binary"
        reasons["task"] = Reason(source="data", text=task_why)
        if metric_found:
            metric, words = metric_found
            reasons["metric"] = Reason(source="sentence", text=f"{words!r}")
        else:
            metric = DEFAULT_METRIC[task]
            reasons["metric"] = Reason(source="default", text=f"usual metric for {task} tasks")
        budget_found = parse_budget(sentence)
        if budget_found:
            budget, words = budget_found
            reasons["time_budget_s"] = Reason(source="sentence", text=f"{words!r}")
        else:
            budget = self.default_time_budget_s
            reasons["time_budget_s"] = Reason(source="default", text=f"default budget of {budget:g} s")
        latency = parse_latency(sentence)
        if latency:
            reasons["max_latency_ms"] = Reason(source="sentence", text=f"{latency[1]!r}")
        reasons["exclude_columns"] = (
            Reason(source="sentence", text="; ".join(f"{w!r}" for _, w in exclusions))
            if exclusions
            else Reason(source="default", text="nothing excluded by the sentence")
        )
        positive = None
        if task == "binary":
            positive, pos_why = positive_class_of(frame[target], sentence)
            reasons["positive_class"] = pos_why
        return TaskSpec(
            target=target,
            task=task,
            metric=metric,
            time_budget_s=budget,
            exclude_columns=excluded,
            positive_class=positive,
            max_latency_ms=latency[0] if latency else None,
            sentence=sentence,
            reasons=reasons,
            planner="rules",
        )

    def _target(
        self,
        frame: pd.DataFrame,
        sentence: str,
        columns: list[str],
        excluded: list[str],
        metric: str | None = None,
    ) -> tuple[str, Reason]:
        n = len(frame)
        candidates = [
            c
            for c in columns
            if c not in excluded
            and not (re.search(r"(^|[_ ])(id|uuid|key)$|Id$|ID$", c) and n > 20 and frame[c].nunique() == n)
        ]
        # 1. a column named in parentheses or quotes
        for m in re.finditer(r"[(\"'`“]([^()\"'`”]{1,40})[)\"'`”]", sentence):
            col = _match_column(m.group(1), candidates)
            if col is not None:
                return col, Reason(source="sentence", text=f"column named explicitly: {m.group(0)!r}")
        # 2. a column whose labels the sentence lists ("bush, clinton or perot?")
        listed = _listed_values(sentence, frame, candidates)
        if listed is not None:
            return listed
        # 3. words of the target clause: after the verb, before "from/using/given"
        clause = re.split(
            r"\b(from|using|given|based on|with the help of|for each|for every|per)\b|[;]",
            sentence,
            maxsplit=1,
            flags=re.I,
        )[0]
        verb = re.search(_TARGET_VERBS + r"\b(.*)", clause, flags=re.I)
        focus = verb.group(0) if verb else clause
        on_focus = self._scorer(focus)
        scores = {c: on_focus(c) for c in candidates}
        if max(scores.values(), default=0) <= 0:
            on_sentence = self._scorer(sentence)
            scores = {c: on_sentence(c) * 0.5 for c in candidates}
        position = {c: i for i, c in enumerate(columns)}
        ranked = sorted(candidates, key=lambda c: (-scores[c], position[c]))
        if not ranked or scores[ranked[0]] <= 0:
            by_meaning = nearest_by_meaning(frame, sentence, candidates, metric)
            if by_meaning is not None:
                return by_meaning
            near = closest_columns(clause, columns)
            raise PlanError(
                f"cannot tell which column to predict from {_quoted(sentence)}. Closest columns: "
                f"{near or columns[:5]}. "
                "Fix: name the column in the sentence or pass --target COLUMN."
            )
        best = ranked[0]
        fits_metric = ""
        if metric is not None and metric in METRICS:
            # a metric named in the sentence is evidence of the task: prefer a column whose task it fits
            fitting = [c for c in ranked if scores[c] > 0 and METRICS[metric].fits(infer_task(frame[c])[0])]
            if fitting and fitting[0] != best:
                best = fitting[0]
                ranked = [best, *[c for c in ranked if c != best]]
                fits_metric = f" ({metric} fits its task)"
        runner = (
            ranked[1]
            if len(ranked) > 1 and scores[ranked[1]] >= 0.8 * scores[best] and scores[ranked[1]] > 0
            else None
        )
        if runner is not None and not fits_metric:  # words tie: their meaning decides, where it can
            tied = [c for c in ranked if scores[c] >= 0.8 * scores[best] and scores[c] > 0]
            by_meaning = nearest_by_meaning(
                frame, sentence, tied, metric, min_similarity=-1.0, min_margin=0.0
            )
            if by_meaning is not None:
                col, why = by_meaning
                return col, Reason(
                    source="sentence",
                    text=f"words of {focus.strip()!r} match columns {tied} about as well; {why.text}",
                )
        text = f"words of {focus.strip()!r} match column {best!r}{fits_metric}"
        if runner:
            text += f" (runner-up: {runner!r})"
        return best, Reason(source="sentence", text=text)

    @staticmethod
    def _scorer(text: str) -> Callable[[str], float]:
        """``column -> score``: how well ``text`` names the column. The text's side (words, stems,
        synonyms it names) is worked out once: a wide table has thousands of columns to score."""
        words = [w for w in _tokens(text) if w not in _STOP]
        stems = {_stem(w) for w in words}
        long_stems = [s for s in stems if len(s) >= 3]
        joined = " ".join(words)
        synonyms = [
            (key, _stem(key), _stem(key + "s"))
            for key, syns in _SYNONYMS.items()
            if any(s in joined for s in syns if " " in s) or stems & {_stem(s) for s in syns}
        ]

        def score(column: str) -> float:
            col_words = [w for w in _tokens(column) if w]
            if not col_words or not words:
                return 0.0
            total = 0.0
            for i, cw in enumerate(col_words):
                weight = 1.0 if i == len(col_words) - 1 else 0.6  # the head noun counts most
                cs = _stem(cw)
                if cw in words or cs in stems:
                    total += 2 * weight
                elif any(difflib.SequenceMatcher(None, cs, s).ratio() >= 0.8 for s in long_stems):
                    total += 1.2 * weight
                for key, key_stem, plural_stem in synonyms:
                    if cs in (key_stem, plural_stem) or cw == key:
                        total += 1.5 * weight
            if _norm(column) in joined and len(col_words) > 1:
                total += 2
            return total / (1 + 0.15 * max(len(col_words) - 1, 0))

        return score


def positive_class_of(y: pd.Series, sentence: str) -> tuple[str, Reason]:
    values = [str(v) for v in pd.unique(y.dropna())]
    low = {v.lower(): v for v in values}
    for word in ("yes", "true", "1", "y", "positive"):
        if word in low:
            return low[word], Reason(source="data", text=f"{low[word]!r} is the usual positive label")
    words = _tokens(sentence)
    for w in words:
        if w in _POSITIVE_WORDS:
            for v in values:
                if _norm(v) and (w.startswith(_norm(v)) or _stem(_norm(v)) == _stem(w)):
                    return v, Reason(source="sentence", text=f"{w!r} in the sentence names {v!r}")
    stems = {_stem(w) for w in words}
    for v in values:
        if _stem(_norm(v)) in stems:
            return v, Reason(source="sentence", text=f"the sentence mentions {v!r}")
    counts = y.astype(str).value_counts()
    minority = str(counts.index[-1])
    return minority, Reason(
        source="data", text=f"minority class {minority!r} ({counts.iloc[-1]} of {len(y)})"
    )


def _quoted(sentence: str, n: int = 200) -> str:
    """``sentence`` quoted for an error message, cut to ``n`` characters.

    >>> _quoted("predict " + "z" * 500)[-20:]
    "... (508 characters)'"
    """
    return repr(sentence) if len(sentence) <= n else repr(f"{sentence[:n]}... ({len(sentence)} characters)")
