"""Search: the model zoo, validation by data size, the Optuna-driven search and the greedy ensemble."""

from lamarck.search._ensemble import caruana_weights
from lamarck.search._learners import LEARNERS, FitContext, Learner
from lamarck.search._model import LamarckModel
from lamarck.search._search import SAMPLERS, AutoSearch, Member, SearchResult, TrialRecord, fit_threads
from lamarck.search._select import FeatureTrial, select_features
from lamarck.search._validation import ValidationScheme, choose_scheme

__all__ = [
    "LEARNERS",
    "SAMPLERS",
    "AutoSearch",
    "FeatureTrial",
    "FitContext",
    "LamarckModel",
    "Learner",
    "Member",
    "SearchResult",
    "TrialRecord",
    "ValidationScheme",
    "caruana_weights",
    "choose_scheme",
    "fit_threads",
    "select_features",
]
