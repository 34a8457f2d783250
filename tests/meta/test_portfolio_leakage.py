"""The shipped portfolio: small, readable, and never learned on a dataset Lamarck is judged on."""

from importlib import resources

import yaml

from lamarck.meta import BUILD_LOG, PORTFOLIO_FILE, load_portfolio


def _logged_datasets() -> list[str]:
    text = resources.files("lamarck.meta").joinpath(BUILD_LOG).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0].startswith("dataset\t")
    return [line.split("\t")[0] for line in lines[1:]]


def _excluded(shared_dir) -> set[str]:
    names = {
        line.strip().lower()
        for line in (shared_dir / "bench" / "meta_exclude.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    suite = yaml.safe_load((shared_dir / "bench" / "public_suite.yaml").read_text())
    names |= {case["source"].partition(":")[2].lower() for case in suite["cases"]}
    return names


def test_no_dataset_of_the_build_log_is_excluded(shared_dir):
    logged = _logged_datasets()
    assert len(logged) >= 20
    excluded = _excluded(shared_dir)
    leaked = [d for d in logged if d.partition(":")[2].lower() in excluded or d.lower() in excluded]
    assert leaked == [], f"the portfolio was learned on excluded datasets: {leaked}"


def test_the_portfolio_holds_exactly_the_logged_datasets_and_is_small():
    portfolio = load_portfolio()
    assert {t.name for t in portfolio.tasks} <= set(_logged_datasets())
    assert len(portfolio.tasks) >= 20
    assert all(t.configs for t in portfolio.tasks)
    assert {t.task for t in portfolio.tasks} == {"binary", "multiclass", "regression"}
    size = len(resources.files("lamarck.meta").joinpath(PORTFOLIO_FILE).read_bytes())
    assert size < 200_000
    assert portfolio.version and portfolio.built_with["command"].startswith("lamarck meta build")
