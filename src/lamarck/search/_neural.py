"""The MLP learner (the optional ``neural`` extra: PyTorch on the CPU).

Inputs go through the zoo's dense preprocessing (median fill with missing indicators, a normal quantile
transform and scaling of numbers, one-hot of categories), then a multi-layer perceptron: ``depth`` blocks of
Linear → LayerNorm → SiLU → Dropout of ``width`` units, trained with AdamW and a one-cycle learning rate on
mini-batches, early stopped on the fold's validation rows (as the boosters are) with the best epoch's
weights kept. It obeys the deadline between batches. Classification minimises cross-entropy (class weights
when balanced), regression the squared error of the standardised target.

A warm start (the evolver's, :meth:`MLPLearner.warm_start`) fine-tunes a copy of the previous fold model's
network on the new rows, through the previous model's fitted preprocessing, with a retention term that keeps
what the network knew (:class:`FineTuning`: elastic weight consolidation, distillation towards the previous
network's answers, both, or none); :func:`widen` grows the hidden layers keeping the function (Net2Net).

Not in the default learner set (``--learners ...,mlp`` or the setting ``learners`` asks for it): the extra
is optional, and a fit's default search stays the same whether or not PyTorch is installed.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

import numpy as np
import optuna
from sklearn.base import BaseEstimator

from lamarck.errors import ConfigError
from lamarck.search._learners import FitContext, Learner, _dense_pipeline, _DenseModel, register

__all__ = [
    "NEEDS_TORCH",
    "RETENTION_MODES",
    "FineTuning",
    "MLPLearner",
    "TorchMLP",
    "available",
    "warm",
    "widen",
]

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


Retention = Literal["none", "ewc", "distill", "ewc+distill"]
#: the retention terms a fine-tuning may add to the task loss
RETENTION_MODES: tuple[str, ...] = ("none", "ewc", "distill", "ewc+distill")
Anchor = Literal["rows", "pseudo"]
#: where the retention terms measure the previous network
ANCHORS: tuple[str, ...] = ("rows", "pseudo")

#: each option of :class:`FineTuning`: what it must satisfy (said in the error) and the check
_FINE_TUNING_RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "retention": (" or ".join(RETENTION_MODES), lambda v: v in RETENTION_MODES),
    "ewc_strength": ("ewc_strength >= 0", lambda v: v >= 0),
    "distill_weight": ("distill_weight >= 0", lambda v: v >= 0),
    "temperature": ("temperature > 0", lambda v: v > 0),
    "max_epochs": ("max_epochs >= 0", lambda v: v >= 0),
    "patience": ("patience >= 1", lambda v: v >= 1),
    "lr_scale": ("0 < lr_scale <= 10", lambda v: 0 < v <= 10),
    "fisher_rows": ("fisher_rows >= 1", lambda v: v >= 1),
    "anchor": (" or ".join(ANCHORS), lambda v: v in ANCHORS),
    "pseudo_rows": ("pseudo_rows >= 16", lambda v: v >= 16),
    "grow": ("True or False", lambda v: isinstance(v, bool)),
    "max_width": ("max_width >= 1", lambda v: isinstance(v, int) and v >= 1),
    "grow_margin": ("0 <= grow_margin < 1", lambda v: 0 <= v < 1),
}


#: the growth's symmetry breaking (see :func:`widen`): copies' incoming weights moved by 1 % of the layer's spread
GROW_NOISE = 0.01


@dataclass(frozen=True)
class FineTuning:
    """How a warm start fine-tunes the previous network on new rows.

    The objective is the task loss on the new rows (sample weights honoured) plus the ``retention`` terms:

    - ``ewc`` (elastic weight consolidation): ``λ/2 Σ F_i (θ_i − θ*_i)²`` with ``θ*`` the previous weights
      and ``F`` the diagonal Fisher information of the previous network, computed on the rows at hand
      (at most ``fisher_rows``) in expectation over its own output distribution, so no old label is needed
      (binary: ``p(1−p)(∂z/∂θ)²``; classes: ``Σ_c p_c (∂ log p_c/∂θ)²``; regression: a Gaussian whose
      variance is the network's validation error). ``λ = ewc_strength × n_old / n_new``: the Laplace
      approximation of the posterior after the ``n_old`` rows that trained the network, divided by the
      ``n_new`` rows whose mean loss the task term is, so that old rows and new rows count row for row;
    - ``distill`` (learning without forgetting): ``distill_weight`` × the soft cross-entropy (× T²) towards
      the previous network's answers at ``temperature`` on the same inputs (regression: the squared
      difference to its outputs);
    - ``ewc+distill``: both; ``none``: plain fine-tuning.

    ``anchor`` says where those terms measure the previous network: ``rows``, the rows at hand; ``pseudo``,
    ``pseudo_rows`` unlabelled inputs drawn from the previous training rows' marginals, which its fitted
    preprocessing keeps (pseudo-rehearsal: the quantiles of its quantile transform, each number drawn
    independently; the other columns copied from random rows at hand). On rows of a new concept the
    previous answers are what must change, so distilling there fights the new labels; pseudo-rows keep
    the old region's answers without a stored old row.

    AdamW at ``lr_scale`` × the network's own learning rate, cosine-annealed over ``max_epochs`` epochs,
    early stopped (``patience``) on the objective of a tenth of the new rows held out, the previous
    weights counting as epoch 0 (``max_epochs=0`` gives back the previous network's answers).
    The defaults (``distill`` on pseudo-rows, weight 0.1) won ``bench/mlp_retention.py`` (agrawal-recurring,
    3 seeds): fine-tuned on 2,000 rows of a new concept, the old concept's accuracy fell 18.6 points
    instead of 32.0 (plain), at 0.8 point of the new one's; on 500 rows 17.1 instead of 22.2, at 1.2; with
    1,000 old rows replayed beside them it adds 0.5 to 2.1 points. EWC at its Laplace weight added nothing.

    Growth (``grow``): the capacity gate. Beside the fine-tuned network, a copy widened to twice its units
    (:func:`widen`, the same function to start with; at most ``max_width``) is fine-tuned the same way on the
    same rows; it replaces the fine-tuned one only when its task loss on the held-out tenth of the new rows
    is lower by more than ``grow_margin`` (relative): a network grows when it was too small for what the
    new rows ask, and keeps its size otherwise. It doubles a warm start's cost; the deadline holds for both.

        >>> FineTuning(retention="ewc").retention
        'ewc'
        >>> FineTuning(retention="l2")
        Traceback (most recent call last):
        ...
        lamarck.errors.ConfigError: FineTuning retention='l2' is not allowed: it must be none or ewc or distill or ewc+distill.
    """

    retention: Retention = "distill"
    ewc_strength: float = 1.0
    distill_weight: float = 0.1
    temperature: float = 2.0
    max_epochs: int = 30
    patience: int = 5
    lr_scale: float = 0.5
    fisher_rows: int = 1024
    anchor: Anchor = "pseudo"
    pseudo_rows: int = 2000
    grow: bool = True
    max_width: int = 1024
    grow_margin: float = 0.02

    def __post_init__(self) -> None:
        for f in fields(self):
            rule, ok = _FINE_TUNING_RULES[f.name]
            value = getattr(self, f.name)
            if not ok(value):
                raise ConfigError(f"FineTuning {f.name}={value!r} is not allowed: it must be {rule}.")

    @property
    def ewc(self) -> bool:
        return self.retention in ("ewc", "ewc+distill") and self.ewc_strength > 0

    @property
    def distill(self) -> bool:
        return self.retention in ("distill", "ewc+distill") and self.distill_weight > 0


def widen(net: Any, new_width: int, *, noise: float = 0.0, seed: int = 0) -> Any:
    """A copy of an MLP network (:meth:`TorchMLP._network`'s layout) whose hidden layers have
    ``new_width`` units and which computes the same function (Net2WiderNet): each hidden unit is
    replicated ``k = new_width / width`` times, its outgoing weights divided by ``k``. ``new_width`` must be
    a multiple of the width: LayerNorm normalises over the units, and only a uniform replication keeps
    their mean and variance. Copies receive the same gradients, so without dropout they would stay copies
    for ever: ``noise`` > 0 adds Gaussian noise of that many times each layer's weight deviation to the
    incoming weights of every copy after the first (Net2Net's symmetry breaking; the function then moves by
    about that much), drawn with ``seed``.
    """
    import torch
    import torch.nn as nn

    linears = [m for m in net if isinstance(m, nn.Linear)]
    width = linears[0].out_features
    if new_width < width or new_width % width:
        raise ConfigError(
            f"widen new_width={new_width} is not allowed: it must be a multiple of the width {width} "
            "(LayerNorm keeps the function only under a uniform replication of the units)."
        )
    k = new_width // width
    idx = torch.arange(width).repeat_interleave(k)
    gen = torch.Generator().manual_seed(int(seed))
    layers: list[Any] = []
    seen = 0
    with torch.no_grad():
        for m in net:
            new: Any
            if isinstance(m, nn.Linear):
                W, b = m.weight.detach().clone(), m.bias.detach().clone()
                if seen > 0:  # its inputs are replicated hidden units: share each one's weight among copies
                    W = W[:, idx] / k
                if seen < len(linears) - 1:  # its outputs are hidden units: replicate them
                    W, b = W[idx], b[idx]
                    if noise > 0 and k > 1:
                        copies = torch.arange(new_width) % k != 0  # every copy after the first
                        scale = noise * float(W.std()) if W.numel() > 1 else noise
                        W[copies] += scale * torch.randn(W[copies].shape, generator=gen)
                new = nn.Linear(W.shape[1], W.shape[0])
                new.weight.copy_(W)
                new.bias.copy_(b)
                seen += 1
            elif isinstance(m, nn.LayerNorm):
                new = nn.LayerNorm(new_width, eps=m.eps)
                new.weight.copy_(m.weight[idx])
                new.bias.copy_(m.bias[idx])
            else:
                new = copy.deepcopy(m)
            layers.append(new)
    out = nn.Sequential(*layers)
    out.train(net.training)
    return out


def _pseudo_rows(prepare: Any, rows: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """``n`` preprocessed inputs drawn from the marginals of the rows the preprocessing was fitted on (see
    :class:`FineTuning`'s ``anchor``): the numbers' block from its quantile transform's quantiles, each
    column independently, through the same transform and scaler; the other columns from random ``rows``
    (already preprocessed)."""
    rng = np.random.default_rng(seed)
    out = np.array(rows[rng.integers(len(rows), size=n)], dtype=np.float64)
    columns = prepare[-1]  # the zoo's ColumnTransformer (see ``_dense_pipeline``)
    numbers = getattr(columns, "named_transformers_", {}).get("num")
    if numbers is None:
        return out
    quantile = numbers[1]
    u = rng.random((n, quantile.quantiles_.shape[1]))
    drawn = np.column_stack(
        [np.interp(u[:, j], quantile.references_, quantile.quantiles_[:, j]) for j in range(u.shape[1])]
    )
    out[:, columns.output_indices_["num"]] = numbers[1:].transform(drawn)
    return out


def _fisher_diagonal(
    net: Any, X: Any, *, task: str, n_classes: int, noise: float = 1.0, chunk_values: int = 20_000_000
) -> dict[str, Any]:
    """The diagonal Fisher information of ``net`` (eval mode) on the rows ``X``, in expectation over its own
    output distribution (see :class:`FineTuning`), one entry per named parameter."""
    import torch
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in net.named_parameters()}
    n_params = sum(v.numel() for v in params.values())
    chunk = max(1, chunk_values // max(n_params, 1))  # per-row gradients of a chunk fit in memory

    def output(p: dict[str, Any], x: Any) -> Any:
        return functional_call(net, p, (x.unsqueeze(0),)).squeeze(0)

    total = {k: torch.zeros_like(v) for k, v in params.items()}
    with torch.no_grad():
        out = net(X)
    for start in range(0, len(X), chunk):
        xs, o = X[start : start + chunk], out[start : start + chunk]
        if task == "regression" or n_classes == 2:
            g = vmap(grad(lambda p, x: output(p, x)[0]), in_dims=(None, 0))(params, xs)
            if task == "regression":
                scale = torch.full((len(xs),), 1.0 / noise)
            else:
                p1 = torch.sigmoid(o[:, 0])
                scale = p1 * (1 - p1)
            for k in total:
                total[k] += torch.einsum("n,n...->...", scale, g[k] ** 2)
        else:
            prob = torch.softmax(o, dim=1)
            for c in range(o.shape[1]):
                g = vmap(
                    grad(lambda p, x, c=c: torch.log_softmax(output(p, x), dim=0)[c]), in_dims=(None, 0)
                )(params, xs)
                for k in total:
                    total[k] += torch.einsum("n,n...->...", prob[:, c], g[k] ** 2)
    return {k: v / max(len(X), 1) for k, v in total.items()}


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
        self.n_in_, self.n_rows_ = X.shape[1], len(X)
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

    # ------------------------------------------------------------------ continual learning

    def _row_loss(self, logits: Any, target: Any) -> Any:
        """The task loss of each row (no class weights: the caller weighs the rows)."""
        import torch.nn.functional as F

        if self.task == "regression":
            return (logits.squeeze(1) - target) ** 2
        if self.n_classes == 2:
            return F.binary_cross_entropy_with_logits(logits.squeeze(1), target, reduction="none")
        return F.cross_entropy(logits, target.long(), reduction="none")

    def _distill_loss(self, logits: Any, old: Any, temperature: float) -> Any:
        """Each row's distance to the previous network's answers (soft cross-entropy × T², or squared)."""
        import torch
        import torch.nn.functional as F

        if self.task == "regression":
            return (logits.squeeze(1) - old.squeeze(1)) ** 2
        t = temperature
        if self.n_classes == 2:
            soft = torch.sigmoid(old.squeeze(1) / t)
            return F.binary_cross_entropy_with_logits(logits.squeeze(1) / t, soft, reduction="none") * t * t
        soft = torch.softmax(old / t, dim=1)
        return -(soft * torch.log_softmax(logits / t, dim=1)).sum(dim=1) * t * t

    def fine_tuned(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        sample_weight: np.ndarray | None = None,
        tuning: FineTuning | None = None,
        deadline: float = math.inf,
        seed: int | None = None,
        n_jobs: int | None = None,
        class_weight: dict[int, float] | None = None,
        anchors: np.ndarray | None = None,
    ) -> TorchMLP:
        """A copy of this fitted network fine-tuned on ``(X, y)`` (already preprocessed) from its weights,
        with the retention terms of ``tuning`` (see :class:`FineTuning`); this estimator is left as it was.
        Rows weigh ``sample_weight`` × ``class_weight[y]``; the deadline is obeyed between batches; a
        regression target keeps this network's standardisation (its outputs keep their meaning).
        ``anchors`` (preprocessed inputs, unlabelled) are where the retention terms measure the previous
        network (its Fisher information, the answers distilled, one anchor batch beside each batch of rows);
        None: the rows at hand."""
        import torch

        tuning = tuning or FineTuning()
        new = copy.deepcopy(self)
        new.deadline, new.class_weight = deadline, class_weight
        if seed is not None:
            new.seed = seed
        if n_jobs is not None:
            new.n_jobs = n_jobs
        torch.manual_seed(new.seed)
        torch.set_num_threads(max(1, int(new.n_jobs)))
        rng = np.random.default_rng(new.seed)
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float64)
        if self.task == "regression":
            y = (y - self.y_mean_) / self.y_scale_
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if class_weight and self.task != "regression":
            w = w * np.array([class_weight.get(int(k), 1.0) for k in y])
        new.fine_tune_epochs_ = 0
        if len(X) < 2 or tuning.max_epochs == 0 or time.monotonic() > deadline:
            return new
        previous, net = self.net_, new.net_
        previous.eval()
        Xall = torch.from_numpy(X)
        with torch.no_grad():
            old_all = previous(Xall)
        order = rng.permutation(len(X))
        cut = len(X) // 10 if len(X) >= 20 else 0  # a tenth held out to stop early (all rows when tiny)
        val, fit = (order[:cut], order[cut:]) if cut else (order, order)
        Xt, yt = Xall[fit], torch.from_numpy(y[fit].astype(np.float32))
        wt, ot = torch.from_numpy(w[fit].astype(np.float32)), old_all[fit]
        Xv, yv = Xall[val], torch.from_numpy(y[val].astype(np.float32))
        wv, ov = torch.from_numpy(w[val].astype(np.float32)), old_all[val]
        if anchors is None:
            At = Av = None
        else:
            A = torch.from_numpy(np.asarray(anchors, dtype=np.float32))
            with torch.no_grad():
                old_A = previous(A)
            a_order = rng.permutation(len(A))
            a_cut = len(A) // 10 if len(A) >= 20 else 0
            a_val, a_fit = (a_order[:a_cut], a_order[a_cut:]) if a_cut else (a_order, a_order)
            At, oAt, Av, oAv = A[a_fit], old_A[a_fit], A[a_val], old_A[a_val]
        anchor = {k: v.detach().clone() for k, v in previous.named_parameters()}
        fisher: dict[str, Any] = {}
        lam = 0.0
        n_old = int(getattr(self, "n_rows_", len(fit)))  # pickles from before it was kept: row for row
        if tuning.ewc:
            where = Xt if At is None else At
            rows = rng.permutation(len(where))[: tuning.fisher_rows]
            noise = float(getattr(self, "best_val_loss_", 1.0))
            noise = max(noise if math.isfinite(noise) else 1.0, 1e-3)
            fisher = _fisher_diagonal(
                previous, where[rows], task=self.task, n_classes=self.n_classes, noise=noise
            )
            lam = tuning.ewc_strength * n_old / max(float(w[fit].sum()), 1.0)
        new.ewc_lambda_ = lam

        def objective(x: Any, target: Any, weight: Any, old: Any, xa: Any = None, oa: Any = None) -> Any:
            logits = net(x)
            loss = (self._row_loss(logits, target) * weight).sum() / weight.sum().clamp_min(1e-12)
            if tuning.distill and xa is None:  # on the rows themselves, weighted as they are
                dist = (self._distill_loss(logits, old, tuning.temperature) * weight).sum()
                loss = loss + tuning.distill_weight * dist / weight.sum().clamp_min(1e-12)
            elif tuning.distill:  # on anchors, each counting as much as an average row
                loss = (
                    loss + tuning.distill_weight * self._distill_loss(net(xa), oa, tuning.temperature).mean()
                )
            if fisher:
                penalty = sum((fisher[k] * (p - anchor[k]) ** 2).sum() for k, p in net.named_parameters())
                loss = loss + 0.5 * lam * penalty
            return loss

        optimiser = torch.optim.AdamW(
            net.parameters(), lr=self.lr * tuning.lr_scale, weight_decay=self.weight_decay
        )
        batch = int(min(self.batch_size, max(16, len(Xt))))
        steps = max(1, math.ceil(len(Xt) / batch))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps * tuning.max_epochs)
        net.eval()
        with torch.no_grad():
            best = float(objective(Xv, yv, wv, ov, Av, None if Av is None else oAv))
        best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        waited = 0
        for _epoch in range(tuning.max_epochs):
            net.train()
            shuffled = torch.from_numpy(rng.permutation(len(Xt)))
            for k in range(steps):
                if time.monotonic() > deadline:
                    break
                rows_k = shuffled[k * batch : (k + 1) * batch]
                if len(rows_k) < 2:
                    continue
                optimiser.zero_grad()
                xa = oa = None
                if At is not None:
                    pick = torch.from_numpy(rng.integers(len(At), size=len(rows_k)))
                    xa, oa = At[pick], oAt[pick]
                objective(Xt[rows_k], yt[rows_k], wt[rows_k], ot[rows_k], xa, oa).backward()
                optimiser.step()
                scheduler.step()
            new.fine_tune_epochs_ += 1
            net.eval()
            with torch.no_grad():
                v = float(objective(Xv, yv, wv, ov, Av, None if Av is None else oAv))
            if v < best - 1e-6:
                best, waited = v, 0
                best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
            else:
                waited += 1
            if waited >= tuning.patience or time.monotonic() > deadline:
                break
        net.load_state_dict(best_state)
        net.eval()
        with torch.no_grad():  # the task loss alone (a later warm start's regression noise)
            new.best_val_loss_ = float((self._row_loss(net(Xv), yv) * wv).sum() / wv.sum().clamp_min(1e-12))
        # the rows the network has now learned from (a later warm start's EWC weighs them)
        new.n_rows_ = n_old + len(fit)
        return new

    def widened(self, new_width: int, *, noise: float = 0.0) -> TorchMLP:
        """A copy whose hidden layers have ``new_width`` units, answering the same (see :func:`widen`; with
        ``noise``, nearly the same, its copies free to learn apart)."""
        new = copy.deepcopy(self)
        new.net_ = widen(self.net_, new_width, noise=noise, seed=self.seed)
        new.net_.eval()
        new.width = new_width
        return new

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

    def __init__(self, *, fine_tuning: FineTuning | None = None) -> None:
        #: how :meth:`warm_start` fine-tunes (the zoo's instance: :class:`FineTuning`'s defaults)
        self.fine_tuning = fine_tuning or FineTuning()

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

    def warm_start(self, previous, X, y, ctx: FitContext, *, sample_weight=None):  # type: ignore[no-untyped-def]
        """The previous fold model's network fine-tuned on these rows (see :class:`FineTuning`), behind the
        previous model's preprocessing as it was fitted: refitting the quantile transform and the scaler
        would move every input the weights were trained on, so that the old network, its Fisher information
        and its answers would no longer describe the same points. The previous model is left unchanged;
        ``ctx.deadline``, ``ctx.seed``, ``ctx.n_jobs`` and ``ctx.class_weight`` are obeyed."""
        from sklearn.pipeline import Pipeline

        if not available():
            raise ConfigError(NEEDS_TORCH)
        pipe = getattr(previous, "pipeline", None)
        if pipe is None or not isinstance(pipe[-1], TorchMLP):
            raise NotImplementedError(f"mlp cannot warm-start from a {type(previous).__name__}")
        prepare = copy.deepcopy(pipe[:-1])
        tuning = self.fine_tuning
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Xt = prepare.transform(X)
            anchors = None
            if tuning.anchor == "pseudo" and tuning.retention != "none" and len(Xt):
                anchors = _pseudo_rows(prepare, np.asarray(Xt), tuning.pseudo_rows, seed=ctx.seed)
        old: TorchMLP = pipe[-1]
        tune = functools.partial(
            TorchMLP.fine_tuned,
            X=Xt,
            y=np.asarray(y),
            sample_weight=sample_weight,
            tuning=tuning,
            deadline=ctx.deadline,
            seed=ctx.seed,
            n_jobs=ctx.n_jobs,
            class_weight=dict(ctx.class_weight) if ctx.class_weight else None,
            anchors=anchors,
        )
        est = tune(old)
        est.grew_from_ = None
        wider = 2 * int(old.width)
        if (
            tuning.grow
            and tuning.max_epochs > 0
            and wider <= tuning.max_width
            and time.monotonic() < ctx.deadline
        ):
            # the same seed: the same held-out tenth of the rows decides between the two
            grown = tune(old.widened(wider, noise=GROW_NOISE))
            small, large = float(est.best_val_loss_), float(grown.best_val_loss_)
            if math.isfinite(large) and large < small * (1.0 - tuning.grow_margin):
                grown.grew_from_ = int(old.width)
                est = grown
        return _DenseModel(Pipeline([*prepare.steps, (pipe.steps[-1][0], est)]))


register(
    MLPLearner()
)  # always known by name; a fit that asks for it without PyTorch is told how to install it
