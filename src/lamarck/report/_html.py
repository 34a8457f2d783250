"""The HTML report of a fit: one self-contained file (inline CSS, plots as inline SVG, no network).

Sections: summary cards, the plan with its reasons, the leaderboard, the scorecard, the plots a data
scientist expects (ROC, precision-recall, calibration, confusion matrix; or predicted vs actual and
residuals), feature importance, search progress, data profile and quality findings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from lamarck.report._charts import svg_of as _svg

__all__ = ["ReportData", "render_report"]


@dataclass
class ReportData:
    title: str
    created_at: str
    dataset: str
    n_rows: int
    spec: dict[str, Any]
    leaderboard: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    columns: list[dict[str, Any]]
    feature_importance: dict[str, float]
    scorecard: dict[str, Any]
    y_true: Any
    y_pred: Any
    proba: Any
    classes: list[str] | None
    task: str
    history: list[tuple[float, float]] = field(default_factory=list)
    champion_version: str | None = None
    notes: list[str] = field(default_factory=list)
    #: LLM-proposed features with their verdicts (name, expression, reason, status, delta, noise, message)
    llm_features: list[dict[str, Any]] = field(default_factory=list)
    #: the LLM's review (summary, watch, leakage, more_data, self_score, score_reason, model)
    review: dict[str, Any] | None = None


def _fig(w: float = 4.6, h: float = 3.4) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return plt.subplots(figsize=(w, h))


def _plots(d: ReportData) -> list[tuple[str, Markup]]:
    from sklearn import metrics as skm

    out: list[tuple[str, Markup]] = []
    y_true = np.asarray(d.y_true)
    if d.task == "regression":
        y_pred = np.asarray(d.y_pred, dtype=float)
        fig, ax = _fig()
        ax.scatter(y_true, y_pred, s=6, alpha=0.4, color="#3b6ea5")
        lo, hi = float(np.nanmin(y_true)), float(np.nanmax(y_true))
        ax.plot([lo, hi], [lo, hi], color="#c0392b", lw=1)
        ax.set_xlabel("actual")
        ax.set_ylabel("predicted (out of fold)")
        out.append(("Predicted vs actual", _svg(fig)))
        fig, ax = _fig()
        ax.hist(y_true - y_pred, bins=40, color="#3b6ea5")
        ax.set_xlabel("residual (actual − predicted)")
        out.append(("Residuals", _svg(fig)))
        return out
    classes = d.classes or sorted({str(v) for v in y_true})
    proba = None if d.proba is None else np.asarray(d.proba, dtype=float)
    if proba is not None and len(classes) == 2:
        pos = classes[1]
        yb = (y_true.astype(str) == pos).astype(int)
        fpr, tpr, _ = skm.roc_curve(yb, proba[:, 1])
        fig, ax = _fig()
        ax.plot(fpr, tpr, color="#3b6ea5", lw=2, label=f"AUC {skm.auc(fpr, tpr):.3f}")
        ax.plot([0, 1], [0, 1], color="#999", lw=1, ls="--")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.legend(loc="lower right")
        out.append((f"ROC curve (positive: {pos})", _svg(fig)))
        prec, rec, _ = skm.precision_recall_curve(yb, proba[:, 1])
        fig, ax = _fig()
        ax.plot(rec, prec, color="#27ae60", lw=2)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        out.append(("Precision-recall", _svg(fig)))
    curve = (d.scorecard.get("calibration") or {}).get("curve") or []
    if curve:
        fig, ax = _fig()
        ax.plot([0, 1], [0, 1], color="#999", lw=1, ls="--")
        ax.plot([c["predicted"] for c in curve], [c["observed"] for c in curve], marker="o", color="#8e44ad")
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed frequency")
        out.append(("Calibration", _svg(fig)))
    labels = [str(c) for c in classes]
    cm = skm.confusion_matrix(y_true.astype(str), np.asarray(d.y_pred).astype(str), labels=labels)
    fig, ax = _fig(4.2 + 0.2 * len(labels), 3.6 + 0.2 * len(labels))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                int(cm[i, j]),
                ha="center",
                va="center",
                color="white" if cm[i, j] > cm.max() / 2 else "black",
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    out.append(("Confusion matrix", _svg(fig)))
    return out


def _importance_plot(imp: dict[str, float]) -> Markup | None:
    if not imp:
        return None
    items = list(imp.items())[:20][::-1]
    fig, ax = _fig(5.5, 0.3 * len(items) + 1)
    ax.barh([k for k, _ in items], [v for _, v in items], color="#3b6ea5")
    ax.set_xlabel("share of importance")
    return _svg(fig)


def _history_plot(history: list[tuple[float, float]], metric: str) -> Markup | None:
    if len(history) < 2:
        return None
    fig, ax = _fig(5.5, 2.8)
    ax.step([h[0] for h in history], [h[1] for h in history], where="post", color="#27ae60", marker="o", ms=3)
    ax.set_xlabel("seconds")
    ax.set_ylabel(f"best {metric}")
    return _svg(fig)


def _board(rows: list[dict[str, Any]], limit: int = 25) -> list[dict[str, Any]]:
    """The leaderboard as shown: the first ``limit`` ranked rows, then every failed learner (never cut)."""
    failed = [r for r in rows if r.get("status") == "failed"]
    return [r for r in rows if r.get("status") != "failed"][:limit] + failed


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "—" if math.isnan(v) else f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_fmt(x)}" for k, x in v.items())
    return "—" if v is None else str(v)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ d.title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f7fa;color:#1f2d3d}
header{background:#1f3a5f;color:#fff;padding:24px 40px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;opacity:.8}main{padding:24px 40px;max-width:1280px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px;margin-bottom:22px}
.card{background:#fff;border-radius:10px;padding:14px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card .k{font-size:12px;text-transform:uppercase;color:#6b7c93;letter-spacing:.04em}.card .v{font-size:22px;font-weight:600;margin-top:4px}
section{background:#fff;border-radius:10px;padding:18px 22px;margin-bottom:22px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin:0 0 12px;font-size:18px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e6ebf1;vertical-align:top}th{color:#6b7c93;font-weight:600}
tr.champ td{background:#eafaf1;font-weight:600}.src{color:#6b7c93;font-size:12px}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:16px}.plots figure{margin:0}
.plots figcaption{font-weight:600;margin-bottom:6px}svg{max-width:100%;height:auto}
.sev-error{color:#c0392b;font-weight:600}.sev-warning{color:#d68910;font-weight:600}.sev-info{color:#6b7c93}
code{background:#eef2f7;padding:1px 5px;border-radius:4px}
</style></head><body>
<header><h1>{{ d.title }}</h1><p>{{ d.dataset }} · {{ "{:,}".format(d.n_rows) }} rows · {{ d.created_at }}</p></header>
<main>
<div class="cards">
<div class="card"><div class="k">task</div><div class="v">{{ d.spec.task }}</div></div>
<div class="card"><div class="k">target</div><div class="v">{{ d.spec.target }}</div></div>
<div class="card"><div class="k">{{ d.spec.metric }}</div><div class="v">{{ fmt(d.scorecard.score) }}</div></div>
<div class="card"><div class="k">champion</div><div class="v">{{ champion }}</div></div>
<div class="card"><div class="k">budget</div><div class="v">{{ fmt(d.spec.time_budget_s) }} s</div></div>
</div>
<section id="plan"><h2>The plan</h2><table><tr><th>field</th><th>value</th><th>why</th></tr>
{% for key in ["target","task","metric","time_budget_s","exclude_columns","positive_class"] %}
<tr><td>{{ key }}</td><td><code>{{ fmt(d.spec.get(key)) if d.spec.get(key) is not none and d.spec.get(key) != [] else "—" }}</code></td>
<td>{% set r = d.spec.reasons.get(key) %}{% if r %}<span class="src">{{ r.source }}</span> {{ r.text }}{% endif %}</td></tr>
{% endfor %}</table>{% if d.spec.sentence %}<p class="src">sentence: “{{ d.spec.sentence }}”</p>{% endif %}</section>
<section id="leaderboard"><h2>Leaderboard</h2><table><tr><th>#</th><th>model</th><th>{{ d.spec.metric }}</th><th>fit s</th><th>from</th><th>parameters</th></tr>
{% for row in board %}{% if row.status == "failed" %}<tr class="failed"><td>✗</td><td>{{ row.learner }}</td>
<td>failed</td><td>{{ fmt(row.fit_seconds) }}</td><td>{{ row.source }}</td><td class="sev-error">{{ row.error }}</td></tr>{% else %}<tr class="{{ 'champ' if row.rank == 0 else '' }}"><td>{{ '★' if row.rank == 0 else row.rank }}</td><td>{{ row.learner }}</td>
<td>{{ fmt(row.score) }}{% if row.status == "truncated" %} <span class="sev-warning" title="{{ row.error }}">(cut)</span>{% endif %}</td><td>{{ fmt(row.fit_seconds) }}</td><td>{{ row.source }}</td><td class="src">{{ fmt(row.params) }}</td></tr>{% endif %}{% endfor %}
</table></section>
<section id="scorecard"><h2>Scorecard</h2><table><tr><th>measure</th><th>value</th></tr>
{% for k, v in d.scorecard.get("secondary", {}).items() %}<tr><td>{{ k }}</td><td>{{ fmt(v) }}</td></tr>{% endfor %}
{% if d.scorecard.calibration %}<tr><td>Brier score</td><td>{{ fmt(d.scorecard.calibration.brier) }}</td></tr>
<tr><td>expected calibration error</td><td>{{ fmt(d.scorecard.calibration.ece) }}</td></tr>{% endif %}
<tr><td>robustness (score with 10% input noise / clean)</td><td>{{ fmt(d.scorecard.robustness) }}</td></tr>
{% for k, v in (d.scorecard.latency or {}).items() %}<tr><td>latency {{ k }}</td><td>{{ fmt(v) }}</td></tr>{% endfor %}
{% if d.scorecard.get("time_to_quality_s") is not none %}<tr><td>time to quality (within 1% of the final score)</td><td>{{ fmt(d.scorecard.time_to_quality_s) }} s of {{ fmt(d.scorecard.search_seconds) }} s{% if d.scorecard.get("stopped_early") %} (stopped early){% endif %}</td></tr>{% endif %}
<tr><td>size on disk</td><td>{{ "{:,}".format(d.scorecard.size_bytes or 0) }} bytes</td></tr></table>
{% if d.scorecard.evaluated_on %}<p class="src">metrics from {{ d.scorecard.evaluated_on }}</p>{% endif %}</section>
<section id="plots"><h2>Plots</h2><div class="plots">{% for title, svg in plots %}<figure><figcaption>{{ title }}</figcaption>{{ svg }}</figure>{% endfor %}</div></section>
{% if importance %}<section id="importance"><h2>Feature importance</h2>{{ importance }}</section>{% endif %}
{% if history %}<section id="history"><h2>Search progress</h2>{{ history }}</section>{% endif %}
<section id="quality"><h2>Data quality</h2>{% if d.findings %}<table><tr><th>rule</th><th>column</th><th>finding</th></tr>
{% for f in d.findings %}<tr><td class="sev-{{ f.severity }}">{{ f.rule }}</td><td>{{ f.column or "—" }}</td><td>{{ f.message }}</td></tr>{% endfor %}</table>
{% else %}<p>No findings.</p>{% endif %}</section>
<section id="profile"><h2>Columns</h2><table><tr><th>column</th><th>kind</th><th>role</th><th>missing</th><th>distinct</th><th>note</th></tr>
{% for c in d.columns %}<tr><td>{{ c.name }}</td><td>{{ c.kind }}</td><td>{{ c.role }}</td><td>{{ "%.1f%%"|format(100 * c.missing_rate) }}</td><td>{{ c.n_unique }}</td><td class="src">{{ c.reason }}</td></tr>{% endfor %}
</table></section>
{% if d.llm_features %}<section id="llm-features"><h2>LLM-proposed features</h2>
<p class="src">Each proposal was scored over the same cross-validation folds with and without it; kept only when the mean gain beat the fold noise (standard deviation of the per-fold gains).</p>
<table><tr><th>feature</th><th>expression</th><th>verdict</th><th>gain ({{ d.spec.metric }})</th><th>fold noise</th><th>why proposed</th><th>note</th></tr>
{% for f in d.llm_features %}<tr><td>{{ f.name }}</td><td><code>{{ f.expression }}</code></td><td class="{{ 'sev-info' if f.status != 'kept' else '' }}"><b>{{ f.status }}</b></td>
<td>{{ fmt(f.delta) }}</td><td>{{ fmt(f.noise) }}</td><td class="src">{{ f.reason }}</td><td class="src">{{ f.message }}</td></tr>{% endfor %}</table></section>{% endif %}
{% if d.review %}<section id="llm-review"><h2>LLM review</h2>
<p class="src">Written by {{ d.review.model or "the LLM" }}; it changes nothing in the model.</p>
<p>{{ d.review.summary }}</p>
<p><b>Self-reflection score: {{ d.review.self_score }} / 5</b> — {{ d.review.score_reason }}</p>
{% for title, key in [("What to watch", "watch"), ("Possible leakage", "leakage"), ("Data that would help", "more_data")] %}{% if d.review[key] %}<h3>{{ title }}</h3><ul>{% for item in d.review[key] %}<li>{{ item }}</li>{% endfor %}</ul>{% endif %}{% endfor %}
</section>{% endif %}
{% if d.notes %}<section id="notes"><h2>Notes</h2><ul>{% for n in d.notes %}<li>{{ n }}</li>{% endfor %}</ul></section>{% endif %}
</main></body></html>
"""


def render_report(data: ReportData, path: Path) -> Path:
    """Write the report of ``data`` to ``path`` and return the path."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    html = env.from_string(_TEMPLATE).render(
        d=data,
        fmt=_fmt,
        plots=_plots(data),
        importance=_importance_plot(data.feature_importance),
        history=_history_plot(data.history, data.spec.get("metric", "")),
        champion=f"v{data.champion_version}" if data.champion_version else "ensemble",
        board=_board(data.leaderboard),
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
