"""The shared-input predict path gives exactly what the fold models give one by one on the frame."""

import time

import numpy as np
import pandas as pd
import pytest

from lamarck.data import FeatureProcessor
from lamarck.search import LEARNERS, FitContext, LamarckModel, Member, _predict
from lamarck.search._predict import SharedInputs, fold_matrix
from lamarck.search._search import predict_matrix

N_FOLDS = 3


def _raw(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Raw rows as a server gets them: numbers, strings with missing values, a rare-level column."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 5, size=n),
            "c": rng.choice(["x", "y", "z"], size=n).astype(object),
            "d": rng.choice([f"l{i}" for i in range(12)], size=n).astype(object),
            "e": rng.choice([True, False], size=n),
        }
    )
    X.loc[::17, "a"] = np.nan
    X.loc[::13, "c"] = None
    return X


def _target(X: pd.DataFrame, task: str) -> np.ndarray:
    signal = X["a"].fillna(0).to_numpy() + (X["c"] == "x").to_numpy() * 1.5 + 0.2 * X["b"].to_numpy()
    if task == "regression":
        return signal
    if task == "binary":
        return (signal > 0.5).astype(int)
    return np.digitize(signal, [0.0, 1.2])


def _model(task: str, learners: list[str]) -> LamarckModel:
    """A LamarckModel of ``N_FOLDS`` fold models per learner, fitted on a few hundred rows."""
    raw = _raw()
    y = _target(raw, task)
    processor = FeatureProcessor(max_categories=8).fit(raw)  # "d" gets an __other__ level
    F = processor.transform(raw)
    n_classes = 0 if task == "regression" else int(y.max()) + 1
    ctx = FitContext(task=task, n_classes=n_classes, seed=0, n_jobs=2, deadline=time.monotonic() + 30)
    members = []
    for name in learners:
        learner = LEARNERS[name]
        size = {"catboost": {"iterations": 30}, "linear": {}, "knn": {}}.get(name, {"n_estimators": 30})
        params = {**learner.portfolio(task)[0], **size}
        folds = np.arange(len(F)) % N_FOLDS
        models = [learner.fit(params, F[folds != k], y[folds != k], ctx) for k in range(N_FOLDS)]
        members.append(Member(name, params, models, weight=1 / len(learners), trial=0, score=0.0))
    classes = None if task == "regression" else np.arange(n_classes)
    schema = {str(c): str(t) for c, t in raw.dtypes.items()}
    return LamarckModel(task, "y", "roc_auc", schema, processor, members, classes_=classes)


def _old_transform(fp: FeatureProcessor, X: pd.DataFrame) -> pd.DataFrame:
    """FeatureProcessor.transform before it was made faster (numeric and categorical columns)."""
    parts = {}
    for c in fp.feature_names_in_:
        col = X[c] if c in X.columns else pd.Series(np.nan, index=X.index)
        if fp.kinds_[c] == "numeric":
            parts[c] = pd.to_numeric(col, errors="coerce").astype("float64")
        else:
            cats = fp.categories_[c]
            values = col.astype(object).where(col.notna(), None)
            values = values.map(lambda v: None if v is None else str(v))
            if "__other__" in cats:
                known = set(cats)
                values = values.map(lambda v, known=known: v if v is None or v in known else "__other__")
            parts[c] = pd.Categorical(values, categories=cats)
    return pd.DataFrame(parts, index=X.index)


def _reference(model: LamarckModel, X: pd.DataFrame) -> np.ndarray:
    """The old path: the old features, then each fold model through its own predict on the frame."""
    F = _old_transform(model.processor, X[model.input_columns])
    n_classes = 0 if model.classes_ is None else len(model.classes_)
    total = None
    for m in model.members:
        fold_mean = np.mean([predict_matrix(mod, F, model.task, n_classes) for mod in m.models], axis=0)
        total = m.weight * fold_mean if total is None else total + m.weight * fold_mean
    assert total is not None
    return total if model.task == "regression" else total / total.sum(axis=1, keepdims=True)


def _requests() -> list[pd.DataFrame]:
    """Frames as the server builds them from JSON rows, including values never seen at fit time."""
    rows = _raw(40, seed=1).astype(object).where(_raw(40, seed=1).notna(), None).to_dict("records")
    odd = dict(rows[0], c="never-seen", d="l11", a="2.5", b=None, e=None)
    return [
        pd.DataFrame.from_records(rows[:1]),
        pd.DataFrame.from_records(rows),
        pd.DataFrame.from_records([odd, *rows[:3]]),
        _raw(25, seed=2),  # typed columns, as a batch predict from a file reads them
    ]


@pytest.mark.parametrize(
    ("task", "learners"),
    [
        ("binary", ["lightgbm"]),
        ("multiclass", ["lightgbm", "random_forest"]),
        ("regression", ["lightgbm", "extra_trees"]),
        ("binary", ["random_forest", "linear", "xgboost"]),
    ],
)
def test_fast_predict_equals_the_fold_models_one_by_one(task: str, learners: list[str]) -> None:
    model = _model(task, learners)
    for X in _requests():
        expected = _reference(model, X)
        got = model.predict(X) if task == "regression" else model.predict_proba(X)
        # bit for bit, but for the forests' sums: scikit-learn adds its trees in the order its threads
        # finish them, so its own answer moves in the last bits from one call to the next
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, err_msg=f"{learners} on {len(X)} rows")
        if not {"random_forest", "extra_trees"} & set(learners):
            assert np.array_equal(got, expected), f"{learners} on {len(X)} rows differs"


def test_catboost_shares_its_prepared_frame() -> None:
    pytest.importorskip("catboost")
    model = _model("binary", ["catboost"])
    for X in _requests()[:2]:
        assert np.array_equal(model.predict_proba(X), _reference(model, X))


def test_many_rows_use_the_booster_threads_and_give_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model("binary", ["lightgbm"])
    X = _requests()[1]
    monkeypatch.setattr(_predict, "ONE_THREAD_ROWS", 0)
    assert _predict._threads(model.members[0].models[0], len(X)) == 2
    assert np.array_equal(model.predict_proba(X), _reference(model, X))


def test_lightgbm_matrix_follows_the_boosters_categories_not_the_frames() -> None:
    """A frame whose categories are ordered differently from training: the codes are the booster's."""
    model = _model("binary", ["lightgbm"])
    F = model.processor.transform(_raw(50, seed=3))
    F["c"] = F["c"].cat.reorder_categories(list(reversed(F["c"].cat.categories)))
    F["d"] = F["d"].cat.remove_categories([F["d"].cat.categories[0]])  # its rows become missing
    for mod in model.members[0].models:
        assert np.array_equal(
            fold_matrix(mod, SharedInputs(F), "binary", 2), predict_matrix(mod, F, "binary", 2)
        )


def test_the_new_features_are_the_old_features() -> None:
    fp = FeatureProcessor(max_categories=8).fit(_raw())
    for X in _requests():
        pd.testing.assert_frame_equal(fp.transform(X), _old_transform(fp, X))


# ------------------------------------------------------------------- the rows path (compiled kernels)


def _json_rows() -> list[dict]:
    """Rows as JSON brings them: numbers as int or float, missing as None, plus rows a frame reads oddly."""
    raw = _raw(30, seed=4)
    rows = raw.astype(object).where(raw.notna(), None).to_dict("records")
    odd = [
        dict(rows[0], c="never-seen", d="l11", a="2.5", b=None, e=None),
        dict(rows[1], a="not a number", b=3.0, c=None, d=None),
        dict(rows[2], a=1e30, b=-7, c="y", d="l0", e=False),
        {k: None for k in rows[3]},
    ]
    return odd + rows


@pytest.mark.parametrize(
    ("task", "learners"),
    [
        ("binary", ["lightgbm", "xgboost", "linear", "knn"]),
        ("multiclass", ["lightgbm", "xgboost", "linear", "knn", "random_forest"]),
        ("regression", ["lightgbm", "xgboost", "linear", "knn", "extra_trees"]),
    ],
)
def test_the_rows_path_answers_as_a_frame_of_each_row(task: str, learners: list[str]) -> None:
    """LamarckModel.outputs (encoder + kernels, no DataFrame) gives each row what the frame path gives a
    frame of that row alone, to 1e-9; and the kernels are really used, not silently skipped."""
    from lamarck.search._compiled import member_kernel
    from lamarck.search._model import _fast

    model = _model(task, learners)
    rows = _json_rows()
    got = model.outputs(rows)
    for i, row in enumerate(rows):
        frame = pd.DataFrame.from_records([row])
        own = model.predict(frame) if task == "regression" else model.predict_proba(frame)
        np.testing.assert_allclose(got[i], own[0], rtol=0, atol=1e-9, err_msg=f"row {i}: {row}")
    fast = _fast(model.processor)
    assert fast is not None
    compiled = {m.learner for m in model.members if member_kernel(m.models, fast[1], task) is not None}
    assert compiled == set(learners)


def test_a_kernel_that_disagrees_with_its_model_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check against the model's own answer on the probe rejects a wrong kernel (here: the quantile
    transform's bounds moved), and the model keeps answering through its frame path."""
    from lamarck.search import _compiled
    from lamarck.search._model import _fast

    model = _model("binary", ["linear"])
    monkeypatch.setattr(_compiled, "BOUNDS_THRESHOLD", 0.25)
    layout = _fast(model.processor)[1]  # type: ignore[index]
    assert _compiled.member_kernel(model.members[0].models, layout, "binary") is None
    rows = _json_rows()
    expected = np.vstack([model.predict_proba(pd.DataFrame.from_records([r])) for r in rows])
    np.testing.assert_allclose(model.outputs(rows), expected, rtol=0, atol=1e-12)


def test_interp_columns_is_numpys_interp_column_by_column() -> None:
    from lamarck.search._compiled import interp_columns

    rng = np.random.default_rng(0)
    xp = np.sort(rng.choice([0.0, 0.5, 1.0, 2.0, 2.0, 3.0, 7.0], size=(12, 6)), axis=0)  # repeated points
    fp = np.sort(rng.normal(size=(12, 6)), axis=0)
    x = np.concatenate([rng.uniform(-1, 8, size=(40, 6)), xp[:5], np.full((1, 6), np.nan)])
    expected = np.column_stack([np.interp(x[:, k], xp[:, k], fp[:, k]) for k in range(6)])
    assert np.array_equal(interp_columns(x, xp, fp), expected, equal_nan=True)


def test_compile_builds_the_kernels_before_the_first_answer() -> None:
    from lamarck.search import _compiled

    model = _model("binary", ["lightgbm", "linear"])
    _compiled._KERNELS.clear()
    assert sorted(model.compile()) == ["lightgbm", "linear"]
    assert all(m.models[0] in _compiled._KERNELS for m in model.members)


def test_timings_profile_both_paths_and_kernels_can_be_switched_off() -> None:
    from lamarck.search import timings
    from lamarck.search._compiled import member_kernel, without_kernels
    from lamarck.search._model import _fast

    model = _model("binary", ["lightgbm", "linear"])
    rows = _json_rows()[:1]
    layout = _fast(model.processor)[1]  # type: ignore[index]
    with without_kernels():
        assert member_kernel(model.members[0].models, layout, "binary") is None
    assert member_kernel(model.members[0].models, layout, "binary") is not None
    before = timings(model, rows, compiled=False, repeats=3)
    after = timings(model, rows, compiled=True, repeats=3)
    assert {
        "DataFrame from the JSON rows",
        "processor's frame",
        "lightgbm x3",
        "linear x3",
        "whole model",
    } == set(before)
    assert {
        "rows encoded into the matrix",
        "lightgbm x3",
        "linear x3",
        "whole model",
        "whole model through a DataFrame",
    } == set(after)
    assert all(v > 0 for v in [*before.values(), *after.values()])


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("k", [1, 5, 40])
def test_the_neighbours_kernel_answers_as_scikit_learn_ties_and_duplicates_included(
    weights: str, k: int
) -> None:
    """k-NN's kernel gives scikit-learn's probabilities and values to 1e-12 on a few rows at a time:
    duplicated training rows with other labels (a tie at the k-th distance), queries on a training row
    (distance zero) and next to one; it answers most rows itself (scikit-learn only for the unsure ones)."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    from lamarck.search._compiled import _Neighbours

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 6))
    X[100:200] = X[:100]  # duplicates, labelled independently
    y, values = rng.integers(0, 3, 3000), rng.normal(size=3000)
    queries = np.vstack([rng.normal(size=(120, 6)), X[:40], X[:40] + 1e-13])
    clf = KNeighborsClassifier(n_neighbors=k, weights=weights).fit(X, y)
    reg = KNeighborsRegressor(n_neighbors=k, weights=weights).fit(X, values)
    kernel_c, kernel_r = _Neighbours(clf, "classification"), _Neighbours(reg, "regression")
    asked: list[int] = []
    own = kernel_c._own
    kernel_c._own = lambda z: (asked.append(len(z)), own(z))[1]  # type: ignore[method-assign]
    got_c = np.vstack([kernel_c(queries[i : i + 7]) for i in range(0, len(queries), 7)])
    got_r = np.concatenate([kernel_r(queries[i : i + 7]) for i in range(0, len(queries), 7)])
    np.testing.assert_allclose(got_c, clf.predict_proba(queries), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_r, reg.predict(queries), rtol=0, atol=1e-12)
    assert sum(asked) < len(queries) / 2  # the random rows are the kernel's own
    big = rng.normal(size=(_Neighbours.SMALL + 1, 6))  # beyond SMALL rows: scikit-learn's search
    np.testing.assert_allclose(kernel_c(big), clf.predict_proba(big), rtol=0, atol=1e-12)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_forests_answer_many_rows_tree_by_tree_as_scikit_learn(task: str) -> None:
    """Beyond FOREST_ROWS rows the forest kernel walks each tree in scikit-learn's C code and adds the trees
    in scikit-learn's order: the estimators' own predict to 1e-12 (their threads may add in another order)."""
    from lamarck.search import _compiled
    from lamarck.search._model import _fast

    model = _model(task, ["random_forest", "extra_trees"])
    X = _raw(_compiled.FOREST_ROWS + 90, seed=5)
    layout = _fast(model.processor)[1]  # type: ignore[index]
    got = model.predict(X) if task == "regression" else model.predict_proba(X)
    np.testing.assert_allclose(got, _reference(model, X), rtol=0, atol=1e-12)
    assert all(_compiled.member_kernel(m.models, layout, task) is not None for m in model.members)


def test_without_treelite_forests_walk_their_trees_in_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where treelite cannot import a forest, a few rows walk every tree one level per numpy step: the same
    answers as each fold model on a frame of the row, to 1e-12."""
    from lamarck.search import _compiled
    from lamarck.search._model import _fast

    monkeypatch.setattr(_compiled._Forest, "_compiled", lambda self: None)
    _compiled._KERNELS.clear()
    model = _model("multiclass", ["random_forest", "extra_trees"])
    rows = _json_rows()
    got = model.outputs(rows)
    for i, row in enumerate(rows):
        own = model.predict_proba(pd.DataFrame.from_records([row]))
        np.testing.assert_allclose(got[i], own[0], rtol=0, atol=1e-12, err_msg=f"row {i}: {row}")
    layout = _fast(model.processor)[1]  # type: ignore[index]
    assert all(_compiled.member_kernel(m.models, layout, "multiclass") is not None for m in model.members)
