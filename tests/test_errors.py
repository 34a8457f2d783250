import pytest

from lamarck.errors import (
    BudgetError,
    ConfigError,
    DataError,
    LamarckError,
    PlanError,
    ProjectNotFoundError,
    SchemaError,
)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (DataError, ValueError),
        (SchemaError, ValueError),
        (PlanError, ValueError),
        (BudgetError, ValueError),
        (ProjectNotFoundError, ConfigError),
    ],
)
def test_errors_inherit_lamarck_and_builtin(cls, builtin):
    err = cls("rule, value, fix")
    assert isinstance(err, LamarckError)
    assert isinstance(err, builtin)
    assert err.exit_code != 0
