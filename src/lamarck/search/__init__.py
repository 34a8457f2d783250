"""Search: the model zoo, the objectives and decision rules that follow the metric, validation by data
size, the Optuna-driven search, when it stops (plateau rule, time-to-quality) and the greedy ensemble."""

from lamarck.search._cluster import connect as dask_client
from lamarck.search._decision import DecisionRule, choose_rule
from lamarck.search._ensemble import caruana_weights
from lamarck.search._latency import latency_probe, timings
from lamarck.search._learners import LEARNERS, FitContext, Learner
from lamarck.search._learners import register as register_learner
from lamarck.search._model import LamarckModel
from lamarck.search._neural import FineTuning, widen
from lamarck.search._objective import (
    TargetShape,
    fit_learner,
    objectives_for,
    target_shape,
    warm_start_learner,
)
from lamarck.search._search import SAMPLERS, AutoSearch, Member, SearchResult, TrialRecord, fit_threads
from lamarck.search._select import FeatureTrial, select_features
from lamarck.search._stopping import EarlyStop, time_to_quality
from lamarck.search._validation import ValidationScheme, choose_scheme

__all__ = [
    "LEARNERS",
    "SAMPLERS",
    "AutoSearch",
    "DecisionRule",
    "EarlyStop",
    "FeatureTrial",
    "FineTuning",
    "FitContext",
    "LamarckModel",
    "Learner",
    "Member",
    "SearchResult",
    "TargetShape",
    "TrialRecord",
    "ValidationScheme",
    "caruana_weights",
    "choose_rule",
    "choose_scheme",
    "dask_client",
    "fit_learner",
    "fit_threads",
    "latency_probe",
    "objectives_for",
    "register_learner",
    "select_features",
    "target_shape",
    "time_to_quality",
    "timings",
    "warm_start_learner",
    "widen",
]
