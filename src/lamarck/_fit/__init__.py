"""The fit as a pipeline of named steps, outside the :class:`lamarck.project.Project` facade.

``prepare`` (read, plan, verify, data checks, quarantine) → ``features`` → ``search`` → ``assemble`` →
``evaluate`` (scorecard, importance, LLM review) → ``register`` (through the champion ledger) →
``report``. The options travel as one frozen :class:`FitOptions`; each step returns a frozen record
that the next steps read.

    >>> FitOptions(learners=("linear",), portfolio=False).portfolio
    False
"""

from lamarck._fit._large import fit_large
from lamarck._fit._pipeline import run_fit
from lamarck._fit._types import FitOptions, FitResult, StageCallback, TrialCallback, as_tuple
from lamarck._fit._zero_shot import zero_shot_spec

__all__ = [
    "FitOptions",
    "FitResult",
    "StageCallback",
    "TrialCallback",
    "as_tuple",
    "fit_large",
    "run_fit",
    "zero_shot_spec",
]
