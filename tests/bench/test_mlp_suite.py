"""bench/mlp_suite.py's verdict: the MLP improves the ensemble only where it is better out of fold *and*
weighs in the ensemble."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "mlp_suite.py"


def _module():
    spec = importlib.util.spec_from_file_location("mlp_suite", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(case, system, oof, weight, seconds=30.0, metric="roc_auc"):
    return {
        "case": case, "system": system, "metric": metric, "oof": str(oof), "test": "0.9",
        "mlp_weight": str(weight), "mlp_trials": "2", "trials": "10", "seconds": str(seconds),
        "budget": "120.0", "error": "",
    }  # fmt: skip


def test_a_gain_counts_only_where_the_mlp_weighs_in_the_ensemble():
    rows = [
        _row("a", "default", 0.90, 0), _row("a", "default+mlp", 0.91, 0.3),  # the MLP helped
        _row("b", "default", 0.90, 0), _row("b", "default+mlp", 0.91, 0),  # better without the MLP in it
        _row("c", "default", 5.0, 0, metric="rmse"), _row("c", "default+mlp", 5.5, 0.2, seconds=130),
    ]  # fmt: skip
    text = _module()._markdown(rows, 120.0, "python bench/mlp_suite.py")
    assert "on **1 of 3** cases" in text and "better out of fold on 2" in text
    assert "1 fit(s) with the MLP ran over the budget" in text  # 130 s of 120
