"""The CLI's leaderboard table: a learner that failed is shown with its error, whatever the row limit."""

from __future__ import annotations

from rich.console import Console

from lamarck.cli._tables import leaderboard_table


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
