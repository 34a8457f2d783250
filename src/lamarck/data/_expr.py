"""A small feature language that Lamarck parses itself: derived columns without running anyone's code.

Why one file of ~500 lines: the whitelist, the parser and the evaluator are one security boundary; kept
together, a reviewer sees every node the language admits and what each one does in one read.

An expression is parsed with :mod:`ast` and accepted only if every node is on a whitelist; it is then
evaluated by a tree walker over pandas columns. Nothing is ever passed to ``eval`` or ``exec``.

- columns: a bare name (``income``) or ``col("Loan Status")`` for any name
- numbers, strings (for comparisons), ``True`` / ``False``
- arithmetic ``+ - * /`` (division by zero gives a missing value), ``x ** k`` with a constant ``|k| <= 4``
- comparisons ``< <= > >= == !=``, ``and``, ``or``, ``not``
- ``log``, ``log1p``, ``sqrt``, ``abs``, ``ratio(a, b)``, ``min(a, b)``, ``max(a, b)``, ``clip(x, lo, hi)``,
  ``if_else(cond, a, b)``, ``isnull(x)``
- date parts: ``year``, ``month``, ``day``, ``dayofweek``, ``hour``, ``days_between(a, b)``
- group statistics, learned on the training rows and stored with the model: ``group_mean(x, by)``,
  ``group_median``, ``group_std``, ``group_min``, ``group_max`` and ``group_count(by)``

    >>> import pandas as pd
    >>> f = pd.DataFrame({"debt": [10.0, 30.0, 0.0], "income": [100.0, 60.0, 0.0], "city": ["a", "b", "a"]})
    >>> parse_feature("ratio(debt, income) * 100", list(f.columns)).columns
    ('debt', 'income')
    >>> d = DerivedFeatures(features=[FeatureDef(name="dti", expression="debt / income"),
    ...                              FeatureDef(name="city_debt", expression="debt - group_mean(debt, city)")])
    >>> d.fit(f).transform(f)[["dti", "city_debt"]].round(2).to_dict("list")
    {'dti': [0.1, 0.5, nan], 'city_debt': [5.0, 0.0, -5.0]}
    >>> parse_feature("__import__('os').system('ls')", list(f.columns))
    Traceback (most recent call last):
    ...
    lamarck.errors.FeatureError: feature expression "__import__('os').system('ls')" is not in the feature language: attribute access (.system) is not allowed. Fix: use columns, numbers, + - * /, comparisons and the listed functions.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from lamarck.errors import FeatureError

__all__ = [
    "FUNCTIONS",
    "DerivedFeatures",
    "FeatureDef",
    "FeatureExpr",
    "WithDerivedFeatures",
    "evaluate_feature",
    "parse_feature",
]

#: function name -> (min args, max args)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "col": (1, 1),
    "log": (1, 1),
    "log1p": (1, 1),
    "sqrt": (1, 1),
    "abs": (1, 1),
    "ratio": (2, 2),
    "min": (2, 2),
    "max": (2, 2),
    "clip": (3, 3),
    "if_else": (3, 3),
    "isnull": (1, 1),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
    "dayofweek": (1, 1),
    "hour": (1, 1),
    "days_between": (2, 2),
    "group_mean": (2, 2),
    "group_median": (2, 2),
    "group_std": (2, 2),
    "group_min": (2, 2),
    "group_max": (2, 2),
    "group_count": (1, 1),
}
_GROUP = {"group_mean", "group_median", "group_std", "group_min", "group_max", "group_count"}
_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.BoolOp,
    ast.Call,
    ast.Name,
    ast.Constant,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Eq,
    ast.NotEq,
)
MAX_LENGTH = 300
MAX_NODES = 80
MAX_DEPTH = 12
MAX_EXPONENT = 4
MAX_CONSTANT = 1e9
_FIX = "Fix: use columns, numbers, + - * /, comparisons and the listed functions."


@dataclass(frozen=True)
class FeatureExpr:
    """A parsed, whitelisted expression: its text, its syntax tree and the columns it reads."""

    text: str
    tree: ast.Expression
    columns: tuple[str, ...]


def _refuse(text: str, why: str) -> FeatureError:
    return FeatureError(f"feature expression {text!r} is not in the feature language: {why}. {_FIX}")


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"attribute access (.{node.attr})"
    if isinstance(node, ast.Subscript):
        return "indexing ([...])"
    if isinstance(node, ast.Lambda):
        return "lambda"
    if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        return "comprehensions"
    return f"{type(node).__name__} syntax"


def parse_feature(text: str, columns: Sequence[str]) -> FeatureExpr:
    """Parse ``text`` and check every node against the whitelist; :class:`FeatureError` otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise _refuse(str(text), "it is empty")
    if len(text) > MAX_LENGTH:
        raise _refuse(text[:60] + "...", f"it is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as e:
        raise _refuse(text, f"it does not parse ({e.msg if isinstance(e, SyntaxError) else e})") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise _refuse(text, f"it has more than {MAX_NODES} parts")
    # forbidden node types first: they are the most telling reason (attribute access, indexing, ...)
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            raise _refuse(text, f"{_describe(node)} is not allowed")
    known = set(map(str, columns))
    used: list[str] = []

    def check(node: ast.AST, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _refuse(text, f"it nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _refuse(text, f"names starting with '_' ({node.id}) are not allowed")
            if node.id not in known:
                raise _refuse(text, f"{node.id!r} is not a column of the data")
            used.append(node.id)
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or v is None:
                pass
            elif isinstance(v, int | float):
                if not math.isfinite(float(v)) or abs(v) > MAX_CONSTANT:
                    raise _refuse(text, f"the number {v!r} is outside ±{MAX_CONSTANT:g}")
            elif isinstance(v, str):
                if len(v) > 100:
                    raise _refuse(text, "strings longer than 100 characters are not allowed")
            else:
                raise _refuse(text, f"constants of type {type(v).__name__} are not allowed")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise _refuse(
                    text, f"function {name!r} is not allowed (allowed: {', '.join(sorted(FUNCTIONS))})"
                )
            if node.keywords:
                raise _refuse(text, "keyword arguments are not allowed")
            lo, hi = FUNCTIONS[node.func.id]
            if not lo <= len(node.args) <= hi:
                raise _refuse(text, f"{node.func.id} takes {lo} argument(s), got {len(node.args)}")
            if node.func.id == "col":
                arg = node.args[0]
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    raise _refuse(text, 'col() takes a column name in quotes, e.g. col("Loan Status")')
                if arg.value not in known:
                    raise _refuse(text, f"{arg.value!r} is not a column of the data")
                used.append(arg.value)
                return
            if node.func.id in _GROUP:
                by = node.args[-1]
                if not _is_column(by):
                    raise _refuse(text, f"the last argument of {node.func.id} must be a column")
            for a in node.args:
                check(a, depth + 1)
            return
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exp = node.right
            if isinstance(exp, ast.UnaryOp) and isinstance(exp.op, ast.USub | ast.UAdd):
                exp = exp.operand
            if not (
                isinstance(exp, ast.Constant)
                and isinstance(exp.value, int | float)
                and not isinstance(exp.value, bool)
                and abs(exp.value) <= MAX_EXPONENT
            ):
                raise _refuse(
                    text, f"an exponent must be a number between -{MAX_EXPONENT} and {MAX_EXPONENT}"
                )
        elif isinstance(node, ast.Compare) and len(node.ops) != 1:
            raise _refuse(text, "chained comparisons are not allowed; use 'and'")
        for child in ast.iter_child_nodes(node):
            check(child, depth + 1)

    check(tree.body, 0)
    if not used:
        raise _refuse(text, "it uses no column")
    return FeatureExpr(text=text.strip(), tree=tree, columns=tuple(dict.fromkeys(used)))


def _is_column(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "col"
    )


def _column_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    assert isinstance(node, ast.Call)  # checked by parse_feature
    return str(node.args[0].value)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- evaluation

Value = Any  # pd.Series or a scalar


def _num(v: Value, index: pd.Index) -> pd.Series:
    if isinstance(v, pd.Series):
        if pd.api.types.is_bool_dtype(v):
            return v.astype("float64")
        if pd.api.types.is_numeric_dtype(v):
            return v.astype("float64")
        return pd.to_numeric(v, errors="coerce").astype("float64")
    if isinstance(v, str):
        return pd.Series(np.nan, index=index)
    return pd.Series(float(v), index=index)


def _bool(v: Value, index: pd.Index) -> pd.Series:
    if isinstance(v, pd.Series) and pd.api.types.is_bool_dtype(v):
        return v.fillna(False).astype(bool)
    n = _num(v, index)
    return (n.fillna(0) != 0).astype(bool)


def _dates(v: Value, index: pd.Index) -> pd.Series:
    if isinstance(v, pd.Series) and pd.api.types.is_datetime64_any_dtype(v):
        d = v
    else:
        s = v if isinstance(v, pd.Series) else pd.Series(v, index=index)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = pd.to_datetime(s, errors="coerce", format="mixed")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert(None)
    return d


def _safe_div(a: pd.Series, b: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / b.where(b != 0)
    return out


class _Evaluator:
    """Walks a checked tree over ``frame``; group tables come from ``tables`` or are learned (``learn``)."""

    def __init__(self, frame: pd.DataFrame, tables: dict[str, Any], *, learn: bool) -> None:
        self.frame = frame
        self.tables = tables
        self.learn = learn

    def run(self, expr: FeatureExpr) -> pd.Series:
        out = self.eval(expr.tree.body)
        out = _num(out, self.frame.index)
        return out.replace([np.inf, -np.inf], np.nan).astype("float64")

    def eval(self, node: ast.AST) -> Value:
        idx = self.frame.index
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.frame[node.id]
        if isinstance(node, ast.UnaryOp):
            v = self.eval(node.operand)
            if isinstance(node.op, ast.Not):
                return ~_bool(v, idx)
            n = _num(v, idx)
            return -n if isinstance(node.op, ast.USub) else n
        if isinstance(node, ast.BinOp):
            a, b = _num(self.eval(node.left), idx), _num(self.eval(node.right), idx)
            with np.errstate(all="ignore"):
                if isinstance(node.op, ast.Add):
                    return a + b
                if isinstance(node.op, ast.Sub):
                    return a - b
                if isinstance(node.op, ast.Mult):
                    return a * b
                if isinstance(node.op, ast.Div):
                    return _safe_div(a, b)
                return a.pow(b)  # Pow: exponent checked to be a small constant
        if isinstance(node, ast.BoolOp):
            parts = [_bool(self.eval(v), idx) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.Compare):
            left, right = self.eval(node.left), self.eval(node.comparators[0])
            op = node.ops[0]
            lhs: Value
            rhs: Value
            if isinstance(left, str) or isinstance(right, str):
                lhs = left if isinstance(left, str) else pd.Series(left, index=idx).astype(str)
                rhs = right if isinstance(right, str) else pd.Series(right, index=idx).astype(str)
                if not isinstance(op, ast.Eq | ast.NotEq):
                    lhs, rhs = _num(lhs, idx), _num(rhs, idx)
            else:
                lhs, rhs = _num(left, idx), _num(right, idx)
            result = {
                ast.Lt: lambda: lhs < rhs,
                ast.LtE: lambda: lhs <= rhs,
                ast.Gt: lambda: lhs > rhs,
                ast.GtE: lambda: lhs >= rhs,
                ast.Eq: lambda: lhs == rhs,
                ast.NotEq: lambda: lhs != rhs,
            }[type(op)]()
            return pd.Series(result, index=idx) if not isinstance(result, pd.Series) else result
        if isinstance(node, ast.Call):
            return self.call(node)
        raise FeatureError(f"cannot evaluate {type(node).__name__}")  # unreachable after parse_feature

    def call(self, node: ast.Call) -> Value:
        idx = self.frame.index
        name = node.func.id  # type: ignore[attr-defined]
        if name == "col":
            return self.frame[_column_name(node)]
        if name in _GROUP:
            return self.group(node)
        args = [self.eval(a) for a in node.args]
        with np.errstate(all="ignore"):
            if name == "log":
                x = _num(args[0], idx)
                return np.log(x.where(x > 0))
            if name == "log1p":
                x = _num(args[0], idx)
                return np.log1p(x.where(x > -1))
            if name == "sqrt":
                x = _num(args[0], idx)
                return np.sqrt(x.where(x >= 0))
            if name == "abs":
                return _num(args[0], idx).abs()
            if name == "ratio":
                return _safe_div(_num(args[0], idx), _num(args[1], idx))
            if name in ("min", "max"):
                a, b = _num(args[0], idx), _num(args[1], idx)
                return np.fmin(a, b) if name == "min" else np.fmax(a, b)
            if name == "clip":
                return _num(args[0], idx).clip(_num(args[1], idx), _num(args[2], idx))
            if name == "if_else":
                return _num(args[1], idx).where(_bool(args[0], idx), _num(args[2], idx))
            if name == "isnull":
                v = args[0]
                return v.isna() if isinstance(v, pd.Series) else pd.Series(v is None, index=idx)
            if name in ("year", "month", "day", "dayofweek", "hour"):
                return getattr(_dates(args[0], idx).dt, name).astype("float64")
            if name == "days_between":
                return (_dates(args[0], idx) - _dates(args[1], idx)).dt.total_seconds() / 86400
        raise FeatureError(f"function {name!r} has no evaluator")  # unreachable: FUNCTIONS is checked

    def group(self, node: ast.Call) -> pd.Series:
        key = ast.dump(node)
        name = node.func.id  # type: ignore[attr-defined]
        by = (
            self.frame[_column_name(node.args[-1])]
            .astype(str)
            .where(self.frame[_column_name(node.args[-1])].notna(), "__missing__")
        )
        if self.learn:
            if name == "group_count":
                stats = by.value_counts()
            else:
                x = _num(self.eval(node.args[0]), self.frame.index)
                stats = getattr(x.groupby(by), name.removeprefix("group_"))()
            default = float(np.nanmedian(stats.to_numpy(dtype=float))) if len(stats) else math.nan
            if name == "group_count":
                default = 0.0
            self.tables[key] = {
                "map": {str(k): float(v) for k, v in stats.items() if pd.notna(v)},
                "default": default,
            }
        table = self.tables.get(key)
        if table is None:
            raise FeatureError("a group statistic was used before it was learned. Fix: call fit first.")
        return by.map(table["map"]).astype("float64").fillna(table["default"])


def evaluate_feature(
    expr: FeatureExpr, frame: pd.DataFrame, tables: dict[str, Any] | None = None
) -> pd.Series:
    """The values of ``expr`` on ``frame`` (float, missing where undefined); group tables are learned when
    ``tables`` is None."""
    learn = tables is None
    return _Evaluator(frame, {} if tables is None else tables, learn=learn).run(expr)


# ---------------------------------------------------------------------- derived features step


class FeatureDef(BaseModel):
    """A named derived feature: its expression in the feature language and why it was proposed."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,59}$")
    expression: str = Field(max_length=MAX_LENGTH)
    reason: str = ""


class DerivedFeatures:
    """Adds derived columns to a table. ``fit`` parses every expression and learns its group statistics.

    It stores expression texts and learned tables only (no code, no syntax trees), so it pickles.
    """

    def __init__(self, *, features: Sequence[FeatureDef] = ()) -> None:
        self.features = features

    def fit(self, X: pd.DataFrame, y: Any = None) -> DerivedFeatures:
        cols = [str(c) for c in X.columns]
        self.columns_ = cols
        self.tables_: dict[str, dict[str, Any]] = {}
        for f in self.features:
            if f.name in cols:
                raise FeatureError(
                    f"derived feature name {f.name!r} is already a column. Fix: choose another name."
                )
            tables: dict[str, Any] = {}
            _Evaluator(X, tables, learn=True).run(parse_feature(f.expression, cols))
            self.tables_[f.name] = tables
        self.feature_names_ = [f.name for f in self.features]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X.copy()
        for f in self.features:
            expr = parse_feature(f.expression, self.columns_)
            missing = [c for c in expr.columns if c not in X.columns]
            frame = X if not missing else X.assign(**{c: np.nan for c in missing})
            out[f.name] = _Evaluator(frame, self.tables_[f.name], learn=False).run(expr)
        return out

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.fit(X).transform(X)


class WithDerivedFeatures:
    """A feature processor that first adds derived columns: ``processor.transform(derived.transform(X))``.

    It is what a model with LLM-proposed features stores, so ``predict`` and serving compute them too.
    """

    def __init__(self, *, derived: DerivedFeatures, processor: Any) -> None:
        self.derived = derived
        self.processor = processor

    def fit(self, X: pd.DataFrame, y: Any = None) -> WithDerivedFeatures:
        self.processor.fit(self.derived.fit(X).transform(X))
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.processor.transform(self.derived.transform(X))

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        # the processor's own fit_transform: text embeddings are encoded once
        return self.processor.fit_transform(self.derived.fit(X).transform(X))

    @property
    def feature_names_out_(self) -> list[str]:
        return list(self.processor.feature_names_out_)

    def __getattr__(self, name: str) -> Any:  # kinds_, categories_ ... of the wrapped processor
        if name.startswith("__") or name in ("derived", "processor"):
            raise AttributeError(name)
        return getattr(self.processor, name)
