"""Continuous motion-prediction baselines: what a user would pick instead of a token model.

Two regressors from the past ``P`` frames of joint rotations to the next ``H`` frames, both with
the same ``fit(past, future)`` / ``predict(past)`` API on axis-angle arrays shaped like the
prediction benchmark's (``recipes/evaluate_prediction.py``):

* :class:`RidgeBaseline`: scikit-learn ridge regression on the flattened past window, with the
  penalty chosen by group k-fold cross-validation on the training windows only;
* :class:`DCTMLPBaseline`: a small siMLPe (Guo et al. 2023, "Back to MLP: a simple baseline for
  human motion prediction"): DCT along time, fully connected layers mixing joints and DCT
  coefficients, inverse DCT, residual to the last context frame; trained with torch on CPU for a
  fixed number of steps with a fixed seed (same data and seed, same model).

Representation (:func:`encode_past`, :func:`future_offsets`, :func:`apply_offsets`). Raw
axis-angle vectors are a bad regression target: at a rotation angle near pi the vector flips to
its antipode (``r`` and about ``-r`` describe nearly the same rotation), and Bandai's rest pose
puts several joints there, so an average of two nearly equal poses can be a pose far from both.
Both baselines therefore work relative to each joint's rotation ``R_t`` at the last context frame:

* inputs: for every past frame ``k``, the relative rotation ``R_t^T R_k`` in the continuous 6D
  representation (its first two columns, Zhou et al. 2019; minus the identity's, so the last frame
  is all zeros), and for the ridge regression ``R_t`` itself in 6D too (where the pose is, e.g.
  near a joint limit). 6D has no flip anywhere, even for a joint that turned by more than pi over
  the context;
* targets: the offsets ``d_k = log(R_t^T R_{t+k})`` as rotation vectors, ``k = 1..H`` (small: a
  joint turns far less than pi in a few hundred ms, and ``log`` is continuous below pi);
* output: ``R_{t+k} = R_t exp(d_k)``, returned as axis-angle (angle in [0, pi]). The benchmark
  scores rotations (geodesic and Euler errors, and positions by forward kinematics), so which of
  the two axis-angle vectors of a rotation comes out does not matter.

Zero offsets are the zero-velocity prediction, so both baselines start from it: the ridge
regression shrinks towards it, and the MLP's last layer is initialised to zero.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Sequence

import numpy as np

from ..pose_features import six_d
from ..rotations import axis_angle_to_matrix

__all__ = [
    "encode_past",
    "future_offsets",
    "apply_offsets",
    "sliding_windows",
    "dct_matrix",
    "RidgeBaseline",
    "DCTMLPBaseline",
]

_EYE6 = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])  # first two columns of the identity, column-major


@contextlib.contextmanager
def _limit_threads(threads: int | None):
    """At most ``threads`` BLAS/OpenMP and torch threads inside (``None``: leave them as they are).

    On a shared machine, multithreaded BLAS on small matrices can be several times slower than one
    thread; a fixed count also makes the reported fitting time comparable across runs.
    """
    if not threads:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        with threadpool_limits(limits=int(threads)):
            yield
    finally:
        torch.set_num_threads(before)


def _check_windows(past: np.ndarray, what: str = "past") -> np.ndarray:
    past = np.asarray(past, dtype=np.float64)
    if past.ndim != 4 or past.shape[-1] != 3 or past.shape[1] < 1:
        raise ValueError(f"{what} must be axis-angle windows shaped (N, frames, J, 3), got {past.shape}")
    if not np.all(np.isfinite(past)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(past))[0])
        raise ValueError(f"{what} has a non-finite value at index {idx}")
    return past


def encode_past(past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Past windows ``(N, P, J, 3)`` (axis-angle) -> ``(relative (N, P, J, 6), pose (N, J, 6))``.

    ``relative``: ``6D(R_t^T R_k) - 6D(I)`` for every past frame ``k`` (motion relative to the last
    frame ``t``; zero at ``t``); ``pose``: ``6D(R_t)`` of the last frame.
    """
    past = _check_windows(past)
    R = axis_angle_to_matrix(past)  # (N, P, J, 3, 3)
    last = R[:, -1:]
    rel = np.swapaxes(last, -1, -2) @ R
    return six_d(rel) - _EYE6, six_d(last[:, 0])


def future_offsets(last: np.ndarray, future: np.ndarray) -> np.ndarray:
    """``log(R_t^T R_{t+k})`` as rotation vectors: ``last (N, J, 3)``, ``future (N, H, J, 3)`` -> ``(N, H, J, 3)``."""
    from scipy.spatial.transform import Rotation

    last = np.asarray(last, dtype=np.float64)
    future = _check_windows(future, "future")
    N, H, J, _ = future.shape
    if last.shape != (N, J, 3):
        raise ValueError(f"last must be shaped (N, J, 3) = {(N, J, 3)}, got {last.shape}")
    r_last = Rotation.from_rotvec(np.repeat(last[:, None], H, axis=1).reshape(-1, 3))
    return (r_last.inv() * Rotation.from_rotvec(future.reshape(-1, 3))).as_rotvec().reshape(N, H, J, 3)


def apply_offsets(last: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Inverse of :func:`future_offsets`: ``R_t exp(d_k)`` as axis-angle ``(N, H, J, 3)``."""
    from scipy.spatial.transform import Rotation

    last = np.asarray(last, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.float64)
    N, H, J, _ = offsets.shape
    r_last = Rotation.from_rotvec(np.repeat(last[:, None], H, axis=1).reshape(-1, 3))
    return (r_last * Rotation.from_rotvec(offsets.reshape(-1, 3))).as_rotvec().reshape(N, H, J, 3)


def sliding_windows(
    clips: Iterable[np.ndarray],
    n_past: int,
    n_future: int,
    stride: int = 1,
    max_windows: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ``stride`` frames of every clip ``(T, J, 3)``, a window of ``n_past`` + ``n_future`` frames.

    With ``max_windows``, at most that many of them, drawn uniformly with ``seed`` (in clip and
    frame order; only the drawn windows are copied). Returns ``(past (N, n_past, J, 3), future
    (N, n_future, J, 3), clip index (N,))``; clips shorter than one window give none.
    """
    if n_past < 2 or n_future < 1 or stride < 1:
        raise ValueError(f"need n_past >= 2, n_future >= 1 and stride >= 1, got {n_past}, {n_future}, {stride}")
    if max_windows is not None and max_windows < 1:
        raise ValueError(f"max_windows must be >= 1, got {max_windows}")
    span = n_past + n_future
    clips = [np.asarray(rot, dtype=np.float64) for rot in clips]
    index, starts = [], []
    for i, rot in enumerate(clips):
        if rot.ndim != 3 or rot.shape[-1] != 3:
            raise ValueError(f"clip {i}: expected rotations shaped (T, J, 3), got {rot.shape}")
        if rot.shape[1] != clips[0].shape[1]:
            raise ValueError(f"clip {i} has {rot.shape[1]} joints, the first clip {clips[0].shape[1]}")
        s = np.arange(0, rot.shape[0] - span + 1, stride)
        index.append(np.full(len(s), i))
        starts.append(s)
    index = np.concatenate(index) if index else np.zeros(0, int)
    starts = np.concatenate(starts) if starts else np.zeros(0, int)
    if not len(index):
        raise ValueError(f"no clip has the {span} frames one window needs ({n_past} past + {n_future} future)")
    if max_windows is not None and len(index) > max_windows:
        pick = np.sort(np.random.default_rng(seed).choice(len(index), size=max_windows, replace=False))
        index, starts = index[pick], starts[pick]
    windows = np.stack([clips[i][s : s + span] for i, s in zip(index.tolist(), starts.tolist())])
    return windows[:, :n_past], windows[:, n_past:], index


def dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``(n, n)``: ``coefficients = D @ x`` along time, ``x = D.T @ coefficients``."""
    k = np.arange(n)[:, None]
    t = np.arange(n)[None, :]
    D = np.sqrt(2.0 / n) * np.cos(np.pi * (t + 0.5) * k / n)
    D[0] /= math.sqrt(2.0)
    return D


class _Baseline:
    """Shared checks: the window shapes seen by ``fit`` are the ones ``predict`` accepts."""

    name = "baseline"

    def _fit_shapes(self, past: np.ndarray, future: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        past, future = _check_windows(past), _check_windows(future, "future")
        if past.shape[0] != future.shape[0] or past.shape[2] != future.shape[2]:
            raise ValueError(f"past {past.shape} and future {future.shape} must have the same windows and joints")
        if past.shape[0] < 2:
            raise ValueError(f"{self.name}: needs at least 2 training windows, got {past.shape[0]}")
        if past.shape[1] < 2:
            raise ValueError(f"{self.name}: needs at least 2 past frames, got {past.shape[1]}")
        self.n_past_, self.n_future_, self.n_joints_ = past.shape[1], future.shape[1], past.shape[2]
        return past, future

    def _predict_shape(self, past: np.ndarray) -> np.ndarray:
        if not hasattr(self, "n_past_"):
            raise RuntimeError(f"{self.name}: call fit() before predict()")
        past = _check_windows(past)
        if past.shape[1:3] != (self.n_past_, self.n_joints_):
            raise ValueError(
                f"{self.name} was fitted on windows of {self.n_past_} past frames of {self.n_joints_} joints, "
                f"got {past.shape[1]} frames of {past.shape[2]} joints"
            )
        return past


class RidgeBaseline(_Baseline):
    """Ridge regression from the past window (see the module docstring) to the future offsets.

    Features: :func:`encode_past` of the last ``n_past`` frames (default: all past frames), i.e. the
    relative 6D trajectory and the last frame's pose in 6D, standardised over the training windows.
    Targets: the ``H * J * 3`` offsets. The penalty is chosen from ``alphas`` by ``folds``-fold cross-validation
    on the training windows with folds by ``groups`` (windows of one clip overlap, so leaving out
    single windows would favour too little penalty), per target when ``alpha_per_target``; then a
    :class:`sklearn.linear_model.Ridge` (SVD solver, which takes one penalty per target) is fitted
    on all windows.

    ``threads`` caps the BLAS threads while fitting and predicting (``None``: as they are).

    Attributes after :meth:`fit`: ``alpha_`` (``(H * J * 3,)`` penalties, or one), ``cv_mse_``
    (``{alpha: mean squared offset error over targets}``), ``model_`` (the sklearn estimator),
    ``fit_seconds_``, ``n_train_windows_``, ``n_features_``.
    """

    name = "ridge"

    def __init__(
        self,
        n_past: int | None = None,
        alphas: Sequence[float] = tuple(10.0 ** np.arange(0.0, 6.5, 0.5)),
        folds: int = 4,
        alpha_per_target: bool = True,
        threads: int | None = None,
    ):
        if len(alphas) == 0 or any(not (a > 0) for a in alphas):
            raise ValueError(f"alphas must be positive, got {list(alphas)}")
        if folds < 2:
            raise ValueError(f"folds must be >= 2, got {folds}")
        if n_past is not None and n_past < 2:
            raise ValueError(f"n_past must be >= 2 frames, got {n_past}")
        self.n_past = n_past
        self.alphas = [float(a) for a in alphas]
        self.folds = int(folds)
        self.alpha_per_target = bool(alpha_per_target)
        self.threads = threads

    def features(self, past: np.ndarray) -> np.ndarray:
        """``(N, P, J, 3)`` -> ``(N, (n_past - 1) * J * 6 + J * 6)``: the relative 6D of the last
        ``n_past`` frames but the last (always zero), and the last frame's pose in 6D."""
        past = _check_windows(past)
        if self.n_past is not None:
            past = past[:, -self.n_past :]
        rel, pose = encode_past(past)
        return np.concatenate([rel[:, :-1].reshape(len(past), -1), pose.reshape(len(past), -1)], axis=1)

    def fit(self, past: np.ndarray, future: np.ndarray, groups: Sequence | None = None) -> RidgeBaseline:
        t0 = time.perf_counter()
        with _limit_threads(self.threads):
            self._fit(past, future, groups)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _fit(self, past: np.ndarray, future: np.ndarray, groups: Sequence | None) -> None:
        from sklearn.linear_model import Ridge

        past, future = self._fit_shapes(past, future)
        if self.n_past is not None and self.n_past > past.shape[1]:
            raise ValueError(f"{self.name}: n_past={self.n_past} but the windows have {past.shape[1]} past frames")
        X = self.features(past)
        Y = future_offsets(past[:, -1], future).reshape(len(X), -1)
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ < 1e-8] = 1.0
        Xs = (X - self.mean_) / self.scale_
        groups = np.arange(len(X)) if groups is None else np.asarray(groups)
        if len(groups) != len(X):
            raise ValueError(f"groups has {len(groups)} entries for {len(X)} windows")
        err = self._cross_validate(Xs, Y, groups)  # (alphas, targets) or None
        alphas = np.asarray(self.alphas)
        if err is None:  # one group: nothing to cross-validate on
            self.cv_mse_ = {}
            self.alpha_ = float(np.median(alphas))
        else:
            self.cv_mse_ = {float(a): float(e) for a, e in zip(alphas, err.mean(axis=1))}
            self.alpha_ = alphas[err.argmin(axis=0)] if self.alpha_per_target else float(alphas[err.mean(axis=1).argmin()])
        self.model_ = Ridge(alpha=self.alpha_, solver="svd").fit(Xs, Y)
        self.n_train_windows_, self.n_features_ = X.shape

    def _cross_validate(self, X: np.ndarray, Y: np.ndarray, groups: np.ndarray) -> np.ndarray | None:
        """Validation MSE ``(alphas, targets)`` over group folds (one eigendecomposition per fold)."""
        unique = np.unique(groups)
        if len(unique) < 2:
            return None
        order = np.random.default_rng(0).permutation(len(unique))
        fold_of = dict(zip(unique[order].tolist(), (np.arange(len(unique)) % self.folds).tolist()))
        fold = np.array([fold_of[g] for g in groups.tolist()])
        err = np.zeros((len(self.alphas), Y.shape[1]))
        for f in np.unique(fold):
            tr, va = fold != f, fold == f
            xm, ym = X[tr].mean(axis=0), Y[tr].mean(axis=0)  # Ridge fits an intercept: centre
            Xt = X[tr] - xm
            s, V = np.linalg.eigh(Xt.T @ Xt)
            VtXtY = V.T @ (Xt.T @ (Y[tr] - ym))
            XvV = (X[va] - xm) @ V
            for i, a in enumerate(self.alphas):
                pred = XvV @ (VtXtY / (np.clip(s, 0, None) + a)[:, None]) + ym
                err[i] += np.sum((pred - Y[va]) ** 2, axis=0)
        return err / len(groups)

    def predict(self, past: np.ndarray) -> np.ndarray:
        past = self._predict_shape(past)
        with _limit_threads(self.threads):
            Xs = (self.features(past) - self.mean_) / self.scale_
            d = self.model_.predict(Xs).reshape(len(past), self.n_future_, self.n_joints_, 3)
        return apply_offsets(past[:, -1], d)


class DCTMLPBaseline(_Baseline):
    """siMLPe (Guo et al. 2023) at CPU size: DCT over the past, MLP, inverse DCT, residual to the last frame.

    Per window, the relative 6D trajectory of :func:`encode_past` (``J * 6`` channels over ``P``
    frames, standardised; the absolute pose is left out, which generalised better to unseen clips on
    Bandai's validation split) is transformed by the orthonormal DCT along time; a linear layer
    mixes the channels, ``blocks`` residual blocks (a linear layer along the DCT coefficients, then
    LayerNorm over channels) mix time, a last linear layer (zero-initialised) maps to ``J * 3``
    offset channels, and the inverse DCT gives ``P`` frames whose first ``H`` are the offsets from the last context
    frame (siMLPe's residual: zero output = zero velocity). Loss: mean squared offset plus mean
    squared frame-to-frame change of the offsets (siMLPe's velocity term). AdamW with a cosine
    learning rate over ``steps`` minibatches of ``batch_size`` windows drawn with ``seed``; torch's
    global RNG is left as it was. ``threads`` caps torch's and BLAS threads while training (``None``:
    as they are).

    Attributes after :meth:`fit`: ``fit_seconds_``, ``n_train_windows_``, ``loss_history_``
    (mean loss per tenth of training), ``n_parameters_``.
    """

    name = "siMLPe"

    def __init__(
        self,
        blocks: int = 6,
        steps: int = 1000,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        seed: int = 0,
        threads: int | None = None,
    ):
        for key, value, low in (("blocks", blocks, 1), ("steps", steps, 1), ("batch_size", batch_size, 1)):
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(f"{key} must be an integer >= {low}, got {value!r}")
        if not (lr > 0 and weight_decay >= 0):
            raise ValueError(f"lr must be positive and weight_decay >= 0, got {lr}, {weight_decay}")
        self.blocks, self.steps, self.batch_size = int(blocks), int(steps), int(batch_size)
        self.lr, self.weight_decay, self.seed, self.threads = float(lr), float(weight_decay), int(seed), threads

    @staticmethod
    def _network(P: int, channels: int, out: int, blocks: int):
        import torch
        from torch import nn

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.time = nn.Linear(P, P)
                self.norm = nn.LayerNorm(channels)

            def forward(self, h):  # (B, P, C): the linear layer mixes the P coefficients of each channel
                return h + self.norm(torch.matmul(self.time.weight, h) + self.time.bias[:, None])

        class SiMLPe(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("dct", torch.as_tensor(dct_matrix(P), dtype=torch.float32))
                self.fc_in = nn.Linear(channels, channels)
                self.blocks = nn.Sequential(*[Block() for _ in range(blocks)])
                self.fc_out = nn.Linear(channels, out)
                nn.init.zeros_(self.fc_out.weight)
                nn.init.zeros_(self.fc_out.bias)

            def forward(self, x):  # (B, P, C) -> (B, P, out)
                h = self.fc_in(self.dct @ x)  # DCT along time, then mix channels
                h = self.blocks(h)
                return self.dct.T @ self.fc_out(h)  # inverse DCT

        return SiMLPe()

    def _inputs(self, past: np.ndarray):
        import torch

        rel, _ = encode_past(past)  # (N, P, J, 6)
        x = (rel.reshape(rel.shape[0], rel.shape[1], -1) - self.mean_) / self.scale_
        return torch.as_tensor(x, dtype=torch.float32)

    def fit(self, past: np.ndarray, future: np.ndarray) -> DCTMLPBaseline:
        import torch

        t0 = time.perf_counter()
        past, future = self._fit_shapes(past, future)
        P, H, J = self.n_past_, self.n_future_, self.n_joints_
        if H > P:
            raise ValueError(f"{self.name}: the inverse DCT gives {P} frames, fewer than the {H} to predict")
        rel = encode_past(past)[0].reshape(len(past), P, -1)
        flat = rel.reshape(-1, rel.shape[-1])
        self.mean_, self.scale_ = flat.mean(axis=0), flat.std(axis=0)
        self.scale_[self.scale_ < 1e-8] = 1.0
        xt = torch.as_tensor((rel - self.mean_) / self.scale_, dtype=torch.float32)
        yt = torch.as_tensor(future_offsets(past[:, -1], future).reshape(len(rel), H, J * 3), dtype=torch.float32)
        with _limit_threads(self.threads):
            gen = torch.Generator().manual_seed(self.seed)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                net = self._network(P, xt.shape[-1], J * 3, self.blocks)
            opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.steps)
            losses = []
            net.train()
            for _ in range(self.steps):
                idx = torch.randint(len(xt), (min(self.batch_size, len(xt)),), generator=gen)
                pred = net(xt[idx])[:, :H]
                target = yt[idx]
                loss = torch.mean((pred - target) ** 2)
                if H > 1:
                    loss = loss + torch.mean((pred.diff(dim=1) - target.diff(dim=1)) ** 2)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
            net.eval()
        self.net_ = net
        tenth = max(1, self.steps // 10)
        self.loss_history_ = [float(np.mean(losses[i : i + tenth])) for i in range(0, self.steps, tenth)]
        self.n_parameters_ = sum(p.numel() for p in net.parameters())
        self.n_train_windows_ = len(xt)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def predict(self, past: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        import torch

        past = self._predict_shape(past)
        x = self._inputs(past)
        with torch.no_grad():
            d = torch.cat([self.net_(x[b : b + batch_size])[:, : self.n_future_] for b in range(0, len(x), batch_size)])
        d = d.double().numpy().reshape(len(past), self.n_future_, self.n_joints_, 3)
        return apply_offsets(past[:, -1], d)
