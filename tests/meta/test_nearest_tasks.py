"""The nearest-task lookup and the warm start built from it."""

import math

from lamarck.meta import Config, KnownTask, MetaFeatures, nearest, warm_start


def _task(name, origin="portfolio", task="binary", configs=None, **figures):
    meta = MetaFeatures.from_dict({"task": task, "n_columns": 8, **figures})
    configs = configs or (Config("linear", {"C": float(len(name))}, 0.9),)
    return KnownTask(name, origin, task, "roc_auc", meta, tuple(configs))


POOL = [
    _task("small-balanced", n_rows=300, class_min_share=0.5, landmark_linear=0.9),
    _task("small-skewed", n_rows=300, class_min_share=0.05, landmark_linear=0.95),
    _task("big-balanced", n_rows=100_000, class_min_share=0.5, landmark_linear=0.9),
    _task("regression", task="regression", n_rows=300),
]


def test_nearest_ranks_by_standardised_distance_within_the_task_kind():
    query = MetaFeatures.from_dict(
        {"task": "binary", "n_rows": 400, "n_columns": 8, "class_min_share": 0.45, "landmark_linear": 0.9}
    )
    found = nearest(query, POOL, k=3)
    # standardised: a class balance and a landmark unlike the query's weigh more than 250 times the rows
    assert [t.name for t, _ in found] == ["small-balanced", "big-balanced", "small-skewed"]
    distances = [d for _, d in found]
    assert distances == sorted(distances) and distances[0] < 0.5
    assert nearest(query, POOL, k=1)[0][0].name == "small-balanced"
    assert all(t.task == "binary" for t, _ in found)  # the regression task is never a neighbour


def test_the_same_task_is_at_distance_zero():
    twin = POOL[1]
    [(found, d)] = nearest(twin.meta, POOL, k=1)
    assert found is twin and math.isclose(d, 0.0, abs_tol=1e-12)


def test_warm_start_asks_the_knowledge_base_first_then_the_portfolio():
    mine = _task(
        "my-earlier-fit",
        origin="knowledge base",
        n_rows=300,
        class_min_share=0.5,
        configs=(Config("catboost", {"depth": 4}, 0.92), Config("linear", {"C": 3.0}, 0.9)),
    )
    shipped = [
        _task(
            "shipped", n_rows=300, class_min_share=0.5, configs=(Config("lightgbm", {"num_leaves": 8}, 0.9),)
        ),
        _task(
            "shipped-twin", n_rows=300, class_min_share=0.5, configs=(Config("catboost", {"depth": 4}, 0.9),)
        ),
    ]
    query = MetaFeatures.from_dict({"task": "binary", "n_rows": 320, "n_columns": 8, "class_min_share": 0.5})
    start = warm_start(query, knowledge=[mine], portfolio=shipped, k=2, max_configs=3)
    # best configuration of each neighbour first (the twin's catboost is a duplicate), then seconds;
    # LightGBM moved to the front, the rest in the order found
    assert [(n, p) for n, p, _ in start.configs] == [
        ("lightgbm", {"num_leaves": 8}),
        ("catboost", {"depth": 4}),
        ("linear", {"C": 3.0}),
    ]
    assert {s for _, _, s in start.configs} == {"warm start"}
    assert [n.name for n in start.neighbours] == ["my-earlier-fit", "shipped"]
    assert start.neighbours[0].origin == "knowledge base"
    assert "my-earlier-fit (knowledge base" in start.note()


def test_no_known_task_of_this_kind_is_a_cold_start():
    query = MetaFeatures.from_dict({"task": "multiclass", "n_rows": 320})
    start = warm_start(query, portfolio=POOL)
    assert start.configs == [] and start.neighbours == ()
    assert "started cold" in start.note()
