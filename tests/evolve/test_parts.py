import numpy as np
import pandas as pd

from lamarck.evolve import DecayDetector, MemoryPool, feature_drift, hardness


def test_no_drift_on_the_same_distribution():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(list("abc"), 3000)})
    cur = pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(list("abc"), 1000)})
    assert feature_drift(ref, cur).severity == "none"


def test_missing_rate_jump_and_outliers_are_drift():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(size=2000)})
    cur = pd.DataFrame({"x": np.where(rng.random(500) < 0.2, np.nan, rng.normal(size=500))})
    col = feature_drift(ref, cur).column("x")
    assert col.missing_jump > 0.1 and col.severity == "severe"
    spikes = pd.DataFrame({"x": np.r_[rng.normal(size=450), np.full(50, 9.0)]})
    assert feature_drift(ref, spikes).column("x").outlier_share >= 0.1


def test_decay_detector_fires_when_errors_rise_not_when_they_fall():
    rng = np.random.default_rng(3)
    up = DecayDetector()
    fired = [up.update(float(rng.random() < (0.1 if i < 1000 else 0.5))) for i in range(2000)]
    assert any(fired[1000:1300]) and not any(fired[:1000])
    down = DecayDetector()
    assert not any(down.update(float(rng.random() < (0.5 if i < 1000 else 0.05))) for i in range(2000))


def test_memory_pool_is_bounded_and_keeps_old_concepts():
    pool = MemoryPool(reservoir_size=100, recent_size=50, hard_size=20, half_life=500, seed=0)
    for i in range(5000):
        pool.add({"i": i, "concept": "old" if i < 2500 else "new"}, label=i % 2)
    frame = pool.training_frame()
    assert len(frame) <= 170
    assert (frame["concept"] == "old").sum() > 20  # replay: old concept still present
    assert (
        frame.loc[frame["i"].idxmax(), "weight"] > frame.loc[frame["i"].idxmin(), "weight"]
    )  # recency decay


def test_hardness_ranks_confident_mistakes_highest():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.1, 0.9]])
    h = hardness(proba, np.array([0, 0, 0]))
    assert h[2] > h[1] > h[0]


def test_the_public_surface_of_evolve():
    import lamarck.evolve as evolve

    assert {
        "Candidate",
        "Decision",
        "EvolutionPolicy",
        "Evolver",
        "Forgetting",
        "GateResult",
        "LabelWindow",
        "PredictionDrift",
        "ShadowFigures",
        "Triggers",
        "WatchFigures",
        "PRED_PREFIX",
        "read_reference",
        "write_reference",
    } <= set(evolve.__all__)
    assert all(hasattr(evolve, name) for name in evolve.__all__)
    assert not any(name.startswith("_") for name in evolve.__all__)
