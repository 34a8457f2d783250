"""Errors a user can cause.

Every failure that a user can cause raises a subclass of :class:`LamarckError`. The message names the
rule that was broken, the value that broke it and the fix. Subclasses also inherit the matching builtin,
so ``except ValueError`` keeps working for callers that do not know Lamarck::

    >>> from lamarck.errors import DataError
    >>> try:
    ...     raise DataError("file 'x.csv' is empty: it has no rows. Fix: pass a file with a header and rows.")
    ... except ValueError as e:
    ...     print(type(e).__name__)
    DataError

The CLI prints the message (never a traceback) and exits with :attr:`LamarckError.exit_code`.
"""

from __future__ import annotations

__all__ = [
    "BudgetError",
    "ConfigError",
    "DataError",
    "FeatureError",
    "LLMAuthError",
    "LLMEndpointError",
    "LLMError",
    "LLMUnavailableError",
    "LamarckError",
    "ModelNotFoundError",
    "PlanError",
    "ProjectNotFoundError",
    "SchemaError",
]


class LamarckError(Exception):
    """Base class of every error a user can cause; the message says rule, value and fix."""

    exit_code: int = 2


class DataError(LamarckError, ValueError):
    """The data cannot be read or used (missing file, empty file, bad encoding, duplicate columns...)."""


class SchemaError(DataError):
    """Rows do not match the schema a model was trained on (missing columns, wrong types)."""


class FeatureError(DataError):
    """A derived-feature expression is outside the feature language (unknown column, forbidden syntax...)."""


class ConfigError(LamarckError, ValueError):
    """A setting or option has a value outside its allowed range."""


class ProjectNotFoundError(ConfigError):
    """No project folder at the path a command reads from (read-only commands never make one)."""


class PlanError(LamarckError, ValueError):
    """A task specification does not fit the data (unknown target, metric that does not fit the task...)."""


class BudgetError(PlanError, ConfigError):
    """A time budget outside its allowed range (1 s to 7 days), negative or not a number.

    Both a plan problem and a setting out of range: ``except ConfigError`` catches it too.
    """


class ModelNotFoundError(LamarckError, LookupError):
    """No model version or alias of that name in the registry."""


class LLMError(LamarckError, RuntimeError):
    """A language-model endpoint failed (see the subclasses); planning falls back to the rule planner."""


class LLMAuthError(LLMError):
    """The endpoint refused the API key (HTTP 401 / 403): a setting to fix, never a silent fallback."""


class LLMEndpointError(LLMError):
    """The base URL or model name is wrong (HTTP 404, or an answer that is not a chat completion)."""


class LLMUnavailableError(LLMError):
    """The endpoint cannot be reached, timed out, or kept failing (429 / 5xx) within the time limit."""
