"""The MLP learner (the optional ``neural`` extra: PyTorch on the CPU).

Inputs go through the zoo's dense preprocessing (median fill with missing indicators, a normal quantile
transform and scaling of numbers, one-hot of categories), then a multi-layer perceptron: ``depth`` blocks of
Linear → LayerNorm → SiLU → Dropout of ``width`` units, trained with AdamW and a one-cycle learning rate on
mini-batches, early stopped on the fold's validation rows (as the boosters are) with the best epoch's
weights kept. It obeys the deadline between batches. Classification minimises cross-entropy (class weights
when balanced), regression the squared error of the standardised target.

Not in the default learner set (``--learners ...,mlp`` or the setting ``learners`` asks for it): the extra
is optional, and a fit's default search stays the same whether or not PyTorch is installed.
"""

from __future__ import annotations

import importlib.util
import math
import time
import warnings
from typing import Any, ClassVar

import numpy as np
import optuna
from sklearn.base import BaseEstimator

from lamarck.errors import ConfigError
from lamarck.search._learners import FitContext, Learner, _dense_pipeline, _DenseModel, register

__all__ = ["NEEDS_TORCH", "MLPLearner", "TorchMLP", "available", "warm"]

#: what a fit that asks for the MLP is told where PyTorch is missing
NEEDS_TORCH = (
    "learner 'mlp' needs PyTorch (the neural extra), which is not installed. Fix: make neural (a CPU build), "
    "or pip install 'lamarck[neural]'; or leave mlp out of --learners."
)


def available() -> bool:
    """Whether PyTorch is installed (the ``neural`` extra)."""
    return importlib.util.find_spec("torch") is not None


def warm() -> None:
    """Import PyTorch now (1-3 s the first time in a process), so that the first MLP trial's deadline is
    spent training, not importing; a search that will try the MLP calls it before its clock starts."""
    if available() and not _WARM:
        import torch

        # one tiny training step: the first forward, backward and optimiser step of a process initialise
        # the kernels and the autograd engine (seconds), which a trial's deadline should not pay for
        net = TorchMLP(task="binary", n_classes=2, width=8, depth=1)._network(4)
        optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3)
        loss = net(torch.zeros(4, 4)).sum()
        loss.backward()
        optimiser.step()
        _WARM.append(True)


_WARM: list[bool] = []


class TorchMLP(BaseEstimator):
    """A scikit-learn estimator on dense float arrays: ``fit(X, y, X_val, y_val)``, ``predict``,
    ``predict_proba``. Pickles with its weights (as a state dict) and predicts on the CPU."""

    def __init__(
        self,
        *,
        task: str,
        n_classes: int,
        width: int = 256,
        depth: int = 2,
        dropout: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        max_epochs: int = 200,
        patience: int = 12,
        seed: int = 0,
        n_jobs: int = 2,
        deadline: float = math.inf,
        class_weight: dict[int, float] | None = None,
    ) -> None:
        self.task, self.n_classes = task, n_classes
        self.width, self.depth, self.dropout = width, depth, dropout
        self.lr, self.weight_decay, self.batch_size = lr, weight_decay, batch_size
        self.max_epochs, self.patience, self.seed, self.n_jobs = max_epochs, patience, seed, n_jobs
        self.deadline, self.class_weight = deadline, class_weight

    # ------------------------------------------------------------------ the network

    def _network(self, n_in: int) -> Any:
        import torch.nn as nn

        layers: list[Any] = []
        width_in = n_in
        for _ in range(self.depth):
            layers += [
                nn.Linear(width_in, self.width),
                nn.LayerNorm(self.width),
                nn.SiLU(),
                nn.Dropout(self.dropout),
            ]
            width_in = self.width
        out = 1 if self.task == "regression" else (1 if self.n_classes == 2 else self.n_classes)
        layers.append(nn.Linear(width_in, out))
        return nn.Sequential(*layers)

    def _loss(self, logits: Any, target: Any) -> Any:
        import torch
        import torch.nn.functional as F

        if self.task == "regression":
            return F.mse_loss(logits.squeeze(1), target)
        weights = None
        if self.class_weight:
            weights = torch.tensor(
                [self.class_weight.get(k, 1.0) for k in range(self.n_classes)], dtype=torch.float32
            )
        if self.n_classes == 2:
            w = None if weights is None else weights[target.long()]
            return F.binary_cross_entropy_with_logits(logits.squeeze(1), target, weight=w)
        return F.cross_entropy(logits, target.long(), weight=weights)

    # ------------------------------------------------------------------ fit / predict

    def fit(
        self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None
    ) -> TorchMLP:
        import torch

        torch.manual_seed(self.seed)
        torch.set_num_threads(max(1, int(self.n_jobs)))
        rng = np.random.default_rng(self.seed)
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float64)
        if X_val is None or y_val is None or len(y_val) == 0:  # no fold given: hold out 10 % of the rows
            order = rng.permutation(len(X))
            cut = max(1, len(X) // 10)
            X_val, y_val, X, y = X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]
        X_val = np.asarray(X_val, dtype=np.float32)
        y_val = np.asarray(y_val, dtype=np.float64)
        if self.task == "regression":
            self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y) or 1.0)
            y, y_val = (y - self.y_mean_) / self.y_scale_, (y_val - self.y_mean_) / self.y_scale_
        self.n_in_ = X.shape[1]
        net = self._network(self.n_in_)
        optimiser = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        batch = int(min(self.batch_size, max(16, len(X))))
        steps = max(1, math.ceil(len(X) / batch))
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=self.lr, total_steps=steps * self.max_epochs, pct_start=0.1
        )
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.float32))
        Xv, yv = torch.from_numpy(X_val), torch.from_numpy(y_val.astype(np.float32))
        best, best_state, waited = math.inf, None, 0
        warmup = math.ceil(0.1 * self.max_epochs)
        self.epochs_ = 0
        for _epoch in range(self.max_epochs):
            net.train()
            shuffled = torch.from_numpy(rng.permutation(len(Xt)))
            for k in range(steps):
                if time.monotonic() > self.deadline:
                    break
                rows = shuffled[k * batch : (k + 1) * batch]
                if len(rows) < 2:  # LayerNorm and the loss need a batch, not one row
                    continue
                optimiser.zero_grad()
                loss = self._loss(net(Xt[rows]), yt[rows])
                loss.backward()
                optimiser.step()
                scheduler.step()
            self.epochs_ += 1
            net.eval()
            with torch.no_grad():
                val = float(self._loss(net(Xv), yv))
            if val < best - 1e-6:
                best, waited = val, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
            # patience counts once the learning rate has warmed up (the first tenth of the schedule): on a
            # few hundred rows the first epochs at a small rate barely move the loss, and stopping there left
            # an untrained network
            if (waited >= self.patience and self.epochs_ > warmup) or time.monotonic() > self.deadline:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.net_ = net
        self.best_val_loss_ = best
        return self

    def _raw(self, X: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.net_(torch.from_numpy(np.asarray(X, dtype=np.float32))).numpy().astype(np.float64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raw = self._raw(X)
        if self.n_classes == 2:
            p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1.0 - p, p])
        raw = raw - raw.max(axis=1, keepdims=True)
        e = np.exp(raw)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.task == "regression":
            return np.asarray(self._raw(X)[:, 0] * self.y_scale_ + self.y_mean_)
        return np.asarray(self.predict_proba(X).argmax(axis=1))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        net = state.pop("net_", None)
        if net is not None:  # the weights as arrays: a pickle that does not depend on torch's module paths
            state["weights_"] = {k: v.numpy().copy() for k, v in net.state_dict().items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.pop("weights_", None)
        self.__dict__.update(state)
        if weights is not None:
            import torch

            net = self._network(self.n_in_)
            net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
            net.eval()
            self.net_ = net


class MLPLearner(Learner):
    """A multi-layer perceptron in PyTorch on the CPU (see the module)."""

    name = "mlp"
    cost = 4.0
    max_rows = 500_000
    objectives = ("balanced",)
    default: ClassVar[bool] = False  # asked for by name only (see the module)

    def search_space(self, trial: optuna.Trial, task: str, n_rows: int) -> dict[str, Any]:
        return {
            "width": self._p(trial, "categorical", "width", [64, 128, 256, 512]),
            "depth": self._p(trial, "int", "depth", 1, 3),
            "dropout": self._p(trial, "float", "dropout", 0.0, 0.4),
            "lr": self._p(trial, "float", "lr", 1e-4, 1e-2, log=True),
            "weight_decay": self._p(trial, "float", "weight_decay", 1e-6, 1e-1, log=True),
            "batch_size": self._p(trial, "categorical", "batch_size", [128, 256, 512]),
        }

    def portfolio(self, task: str) -> list[dict[str, Any]]:
        return [
            {"width": 256, "depth": 2, "dropout": 0.1, "lr": 2e-3, "weight_decay": 1e-4, "batch_size": 256},
            {"width": 512, "depth": 3, "dropout": 0.2, "lr": 1e-3, "weight_decay": 1e-3, "batch_size": 256},
        ]

    def baseline(self, task: str) -> dict[str, Any]:
        return {"width": 64, "depth": 1, "dropout": 0.0, "lr": 3e-3, "weight_decay": 1e-4, "batch_size": 512}

    def fit(self, params, X, y, ctx: FitContext, X_val=None, y_val=None):  # type: ignore[no-untyped-def]
        if not available():
            raise ConfigError(NEEDS_TORCH)
        weights = dict(ctx.class_weight) if ctx.class_weight else None  # the balanced objective sets them
        est = TorchMLP(
            task=ctx.task,
            n_classes=ctx.n_classes,
            seed=ctx.seed,
            n_jobs=ctx.n_jobs,
            deadline=ctx.deadline,
            class_weight=weights,
            **{k: params[k] for k in ("width", "depth", "dropout", "lr", "weight_decay", "batch_size")},
        )
        pipe = _dense_pipeline(X, est)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepare = pipe[:-1]
            Xt = prepare.fit_transform(X, y)
            Xv = prepare.transform(X_val) if X_val is not None and y_val is not None else None
            est.fit(Xt, np.asarray(y), Xv, None if Xv is None else np.asarray(y_val))
        return _DenseModel(pipe)


register(
    MLPLearner()
)  # always known by name; a fit that asks for it without PyTorch is told how to install it
