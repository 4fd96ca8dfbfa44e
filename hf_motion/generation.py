"""Constrained generation of motion text, and :func:`predict` (context motion -> predicted motion).

:class:`MotionLogitsProcessor` keeps every generated sequence decodable: at each step only the
tokens that are valid in the current slot of the M5 layout get a finite score:

* after ``<bos>``: a task token; after the task token: the frame separator;
* inside a frame: the alphabet of the slot (angle or position frame, and for ``digits == 2`` the
  coarse or fine digit); for a delta-coding tokenizer, the absolute alphabet in a keyframe and the
  delta alphabet of the frame's kind in any other frame, restricted to the changes that keep the
  slot's level inside ``[0, n_bins)`` (so strict decoding always succeeds);
* after the last value of a frame: the separator (or ``<eos>``);
* after ``<eos>`` (finished rows): ``<eos>``.

The frame width (number of joints) is read from the prompt's first complete frame. The kind of
each new frame follows the prompt: if its first two frames differ (interleaved FK/IK text), kinds
alternate; if they agree they stay constant; with a single prompt frame, FK/IK tasks (``$``,
``&``) alternate and causal text (``>``) keeps the kind. A prompt without frames starts with an
angle frame, or a position frame for IK (``&`` writes the position frame first).

Delta coding: the frames of each kind (stream) are counted across the prompt and the generated
tokens, from the task token on, so keyframes fall where :meth:`MotionTokenizer.encode_motion` puts
them (``t % keyframe_interval == 0``); the current level of every slot is kept per row. A
continuation is decoded with its prompt in front (its changes are relative to the prompt's frames).

Per step the work is a few vectorised tensor operations and one lookup into a precomputed
``(states, vocab)`` mask (plus, for delta coding, one ``(batch, vocab)`` range comparison), so it
runs on the model's device without Python loops over the batch, at the same cost at any length.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from .kinematics import canonicalize_positions
from .motion import Motion, MotionError

__all__ = ["MotionLogitsProcessor", "ExpectedValueLogitsProcessor", "MotionPromptError", "context_capacity", "predict"]

_ANGLE, _POSITION = 1, 2  # MotionTokenizer.token_kinds codes
_ABSOLUTE, _DELTA = 1, 2  # MotionTokenizer.token_codings codes


class MotionPromptError(ValueError):
    """A prompt whose motion layout cannot be continued (the message names the row and what is wrong)."""


def _tokenizer_joints(tokenizer) -> tuple[int | None, list[str] | None]:
    """``(n_joints, joint_names)`` the tokenizer was made for, ``None`` where it does not say."""
    names = getattr(tokenizer, "joint_names", None)
    names = [str(n) for n in names] if names else None
    n = getattr(tokenizer, "n_joints", None)
    if callable(n):
        n = n()
    if n is None and names is not None:
        n = len(names)
    return (None if n is None else int(n)), names


def _expected_joints(model, tokenizer) -> tuple[int | None, list[str] | None]:
    """The skeleton contract of a model and its tokenizer: ``(n_joints, joint_names)`` or ``None`` s.

    Raises ``ValueError`` when the model's ``config.joint_names`` and the tokenizer disagree.
    """
    n_tok, tok_names = _tokenizer_joints(tokenizer)
    cfg_names = getattr(getattr(model, "config", None), "joint_names", None)
    cfg_names = [str(n) for n in cfg_names] if cfg_names else None
    if cfg_names is not None and tok_names is not None and cfg_names != tok_names:
        raise ValueError(
            f"the model was made for joints {cfg_names} (config.joint_names) but the tokenizer for {tok_names}; "
            "use the tokenizer saved with the model"
        )
    if cfg_names is not None and n_tok is not None and n_tok != len(cfg_names):
        raise ValueError(
            f"the model was made for {len(cfg_names)} joints (config.joint_names) but the tokenizer for {n_tok}; "
            "use the tokenizer saved with the model"
        )
    names = cfg_names or tok_names
    return (len(names) if names is not None else n_tok), names


def _preview(names: Sequence[str], limit: int = 12) -> str:
    names = list(names)
    return str(names) if len(names) <= limit else f"{names[:limit]} ... (+{len(names) - limit} more)"


def _check_motion_joints(motion: Motion, k: int, n: int | None, names: list[str] | None) -> None:
    """Refuse a context clip on another skeleton than the model's (names when both are known, else the count)."""
    got = motion.skeleton.names
    src = motion.labels.get("source")
    what = f"context motion {k}" + (f" ({src})" if src else "")
    if names is not None and got != names:
        missing = [j for j in names if j not in got]
        extra = [j for j in got if j not in names]
        detail = [f"missing {_preview(missing)}"] if missing else []
        detail += [f"not the model's: {_preview(extra)}"] if extra else []
        if missing:
            hint = "the clip is on another skeleton than the model; retarget it or use a model made for its joints"
        else:
            hint = f"pass motion.select_joints({names!r})"
        raise MotionError(
            f"{what} has {len(got)} joints {_preview(got)}, but the model and tokenizer were made for "
            f"{len(names)} joints {_preview(names)} ({'; '.join(detail) or 'same joints, another order'}); {hint}"
        )
    if n is not None and len(got) != n:
        raise MotionError(
            f"{what} has {len(got)} joints, but the model and tokenizer were made for {n}; pass "
            f"motion.select_joints([...]) with the {n} joints the model was trained on (e.g. a registered subset "
            "such as 'bandai-core')"
        )


@dataclass
class _PromptLayout:
    frame_width: torch.Tensor  # (B,) tokens per frame (joints * values_per_joint)
    first_kind: torch.Tensor  # (B,) 1 angle / 2 position
    alternate: torch.Tensor  # (B,) bool


class MotionLogitsProcessor(LogitsProcessor):
    """A :class:`~transformers.LogitsProcessor` that only allows tokens valid at each position of M5 motion text.

    Args:
        tokenizer: the :class:`~hf_motion.tokenizer.MotionTokenizer` of the model.
        num_joints: joints per frame; by default read from each prompt's first complete frame (a
            frame followed by a separator, or the prompt's last frame). When the tokenizer states its
            joints (``n_joints`` / ``joint_names``), a different ``num_joints`` or prompt frame width is
            refused.
        first_frame_kind: ``"angle"`` or ``"position"``: the kind of the first frame when a prompt
            holds no frame yet; by default (None) position for IK prompts (``&``), angle otherwise.
        allow_eos: whether ``<eos>`` may end the sequence after a complete frame. (``generate``'s
            ``min_new_tokens`` also suppresses it.)

    Use one processor per ``generate`` call (or call :meth:`reset`): the layout of the prompts is
    read on the first call and kept while the sequences grow one token per step.

    Example::

        proc = MotionLogitsProcessor(tokenizer)
        out = model.generate(ids, logits_processor=LogitsProcessorList([proc]), max_new_tokens=200, do_sample=True)
        tokenizer.decode_motion(out[0], strict=False)   # always decodes
    """

    def __init__(
        self,
        tokenizer,
        num_joints: int | None = None,
        first_frame_kind: str | None = None,
        allow_eos: bool = True,
    ) -> None:
        if first_frame_kind not in (None, "angle", "position"):
            raise ValueError(f"first_frame_kind must be 'angle', 'position' or None, got {first_frame_kind!r}")
        if num_joints is not None and int(num_joints) < 1:
            raise ValueError(f"num_joints must be >= 1, got {num_joints}")
        self.tokenizer = tokenizer
        self.expected_joints = _tokenizer_joints(tokenizer)[0]
        if num_joints is not None and self.expected_joints is not None and int(num_joints) != self.expected_joints:
            raise ValueError(f"num_joints={num_joints}, but the tokenizer was made for {self.expected_joints} joints")
        self.num_joints = None if num_joints is None else int(num_joints)
        self.first_frame_kind = None if first_frame_kind is None else _ANGLE if first_frame_kind == "angle" else _POSITION
        self.allow_eos = bool(allow_eos)
        self.digits = int(tokenizer.digits)
        self.values_per_joint = int(tokenizer.values_per_joint)
        self.sep_id = int(tokenizer.frame_separator_id)
        self.bos_id = int(tokenizer.bos_token_id)
        self.eos_id = int(tokenizer.eos_token_id)
        self.pad_id = int(tokenizer.pad_token_id)
        self.task_ids = {k: int(v) for k, v in tokenizer.task_token_ids.items()}
        self.vocab_size = len(tokenizer)
        self._token_kinds = np.asarray(tokenizer.token_kinds)
        self.delta = getattr(tokenizer, "coding", "absolute") == "delta"
        # Mask rows: [angle digit 0..d-1, position digit 0..d-1, frame end, after task, after bos, done
        # (, angle delta, position delta)].
        self._state_frame_end = 2 * self.digits
        self._state_after_task = self._state_frame_end + 1
        self._state_after_bos = self._state_frame_end + 2
        self._state_done = self._state_frame_end + 3
        self._state_delta = self._state_done + 1  # + kind - 1
        allowed = np.zeros((self._state_done + 1 + 2 * self.delta, self.vocab_size), dtype=bool)
        for d in range(self.digits):
            allowed[d, tokenizer.angle_token_ids(d)] = True
            allowed[self.digits + d, tokenizer.position_token_ids(d)] = True
        allowed[self._state_frame_end, self.sep_id] = True
        allowed[self._state_frame_end, self.eos_id] = self.allow_eos
        allowed[self._state_after_task, self.sep_id] = True
        allowed[self._state_after_bos, list(self.task_ids.values())] = True
        allowed[self._state_done, self.eos_id] = True
        if self.delta:
            allowed[self._state_delta, tokenizer.delta_token_ids("angle")] = True
            allowed[self._state_delta + 1, tokenizer.delta_token_ids("position")] = True
            self.keyframe_interval = tokenizer.keyframe_interval
            steps = tokenizer.max_steps
            self._max_step_np = np.array([steps["angle"], steps["position"]], dtype=np.int64)
            self._n_levels_np = np.array([tokenizer.angle_quantizer.n_bins, tokenizer.position_quantizer.n_bins], dtype=np.int64)
            self._token_codings = np.asarray(tokenizer.token_codings)
            self._token_values = np.asarray(tokenizer.token_values)
        self._allowed_np = allowed
        self._blocked: torch.Tensor | None = None  # (states, V_model) on the scores' device
        self._delta_tables: dict | None = None  # per-id tensors on the scores' device (delta coding)
        self.reset()

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget the prompt layout (call between two ``generate`` calls that share this processor)."""
        self._layout: _PromptLayout | None = None
        self._batch_size = -1
        self._last_length = -1

    def _blocked_table(self, vocab: int, device: torch.device) -> torch.Tensor:
        if self._blocked is None or self._blocked.shape[1] != vocab or self._blocked.device != device:
            if vocab < self.vocab_size:
                raise ValueError(
                    f"the model scores {vocab} tokens but the tokenizer has {self.vocab_size}; "
                    "resize the model's embeddings to the tokenizer"
                )
            allowed = np.zeros((self._allowed_np.shape[0], vocab), dtype=bool)
            allowed[:, : self.vocab_size] = self._allowed_np  # ids beyond the tokenizer stay blocked
            self._blocked = torch.from_numpy(~allowed).to(device)
        return self._blocked

    def _delta_table(self, vocab: int, device: torch.device) -> dict[str, torch.Tensor]:
        """Per-id kind / coding / value (``-1`` beyond the tokenizer) and per-kind constants on ``device``."""
        t = self._delta_tables
        if t is None or t["values"].shape[0] != vocab or t["values"].device != device:

            def padded(a: np.ndarray, fill: int) -> torch.Tensor:
                out = np.full(max(vocab, self.vocab_size), fill, dtype=np.int64)
                out[: self.vocab_size] = a
                return torch.from_numpy(out).to(device)

            t = self._delta_tables = {
                "kinds": padded(self._token_kinds, 0),
                "codings": padded(self._token_codings, 0),
                "values": padded(self._token_values, -1)[:vocab],
                "max_step": torch.from_numpy(self._max_step_np).to(device),
                "n_levels": torch.from_numpy(self._n_levels_np).to(device),
            }
        return t

    def prompt_layout(self, input_ids: torch.Tensor | np.ndarray) -> _PromptLayout:
        """Frame width, first frame kind and alternation of each prompt row (raises :class:`MotionPromptError`)."""
        ids = torch.as_tensor(input_ids).detach().cpu().numpy()
        if ids.ndim == 1:
            ids = ids[None]
        B = ids.shape[0]
        width = np.zeros(B, dtype=np.int64)
        first_kind = np.full(B, _ANGLE if self.first_frame_kind is None else self.first_frame_kind, dtype=np.int64)
        alternate = np.zeros(B, dtype=bool)
        reverse_tasks = {v: k for k, v in self.task_ids.items()}
        for b in range(B):
            row = ids[b]
            seps = np.flatnonzero(row == self.sep_id)
            real = np.flatnonzero((row != self.pad_id) & (row != self.bos_id))
            task = reverse_tasks.get(int(row[real[0]])) if real.size else None
            frames = []  # (start, stop) of each frame in the prompt
            for k, s in enumerate(seps):
                stop = seps[k + 1] if k + 1 < len(seps) else len(row)
                frames.append((s + 1, stop))
            if frames:
                last_start, last_stop = frames[-1]
                tail = row[last_start:last_stop]
                if np.any(np.isin(tail, [self.eos_id, self.pad_id])):
                    raise MotionPromptError(
                        f"prompt row {b} contains <eos> or right padding after its last frame; strip the "
                        "<eos> (and use left padding) before generating"
                    )
            if self.num_joints is not None:
                width[b] = self.num_joints * self.values_per_joint
            elif frames and frames[0][1] > frames[0][0]:
                width[b] = frames[0][1] - frames[0][0]
            else:
                raise MotionPromptError(
                    f"prompt row {b} holds no complete frame, so the number of joints is unknown; pass "
                    "MotionLogitsProcessor(..., num_joints=J)"
                )
            if self.expected_joints is not None and width[b] != self.expected_joints * self.values_per_joint:
                raise MotionPromptError(
                    f"prompt row {b}: the first frame has {width[b]} tokens ({width[b] / self.values_per_joint:g} "
                    f"joints), but the tokenizer was made for {self.expected_joints} joints "
                    f"({self.expected_joints * self.values_per_joint} tokens per frame)"
                )
            if width[b] % self.values_per_joint:
                raise MotionPromptError(
                    f"prompt row {b}: the first frame has {width[b]} tokens, not a multiple of "
                    f"{self.values_per_joint} (3 values x {self.digits} digit(s) per joint)"
                )
            kinds = [int(self._token_kinds[row[s]]) for s, e in frames if e > s and row[s] < len(self._token_kinds)]
            if self.first_frame_kind is None and task == "&":
                first_kind[b] = _POSITION  # IK writes the position frame first
            if kinds and kinds[0] in (_ANGLE, _POSITION):
                first_kind[b] = kinds[0]
            if len(kinds) >= 2:
                alternate[b] = kinds[1] != kinds[0]
            else:
                alternate[b] = task in ("$", "&")
            for k, (s, e) in enumerate(frames[:-1]):
                if e - s != width[b]:
                    raise MotionPromptError(
                        f"prompt row {b}: frame {k} has {e - s} tokens but frames here have {width[b]} "
                        f"({width[b] // self.values_per_joint} joints)"
                    )
            if frames and frames[-1][1] - frames[-1][0] > width[b]:
                raise MotionPromptError(
                    f"prompt row {b}: the last frame has {frames[-1][1] - frames[-1][0]} tokens, more than the frame width {width[b]}"
                )
        return _PromptLayout(torch.from_numpy(width), torch.from_numpy(first_kind), torch.from_numpy(alternate))

    def _prompt_levels(self, ids: np.ndarray, layout: _PromptLayout) -> tuple[np.ndarray, np.ndarray]:
        """Delta coding: frames begun per stream ``(B, 2)`` and current level per slot ``(B, 2, W)`` of
        each prompt row (raises :class:`MotionPromptError` where a frame breaks the keyframe schedule)."""
        B = ids.shape[0]
        width = layout.frame_width.numpy()
        first_kind, alternate = layout.first_kind.numpy(), layout.alternate.numpy()
        counts = np.zeros((B, 2), dtype=np.int64)
        levels = np.zeros((B, 2, int(width.max())), dtype=np.int64)
        K, V = self.keyframe_interval, self.vocab_size
        for b in range(B):
            row = ids[b]
            seps = np.flatnonzero(row == self.sep_id)
            for k, s in enumerate(seps):
                kind = int(3 - first_kind[b] if alternate[b] and k % 2 else first_kind[b])
                n = counts[b, kind - 1]
                counts[b, kind - 1] += 1
                key = n == 0 if K is None else n % K == 0
                toks = row[s + 1 : seps[k + 1] if k + 1 < len(seps) else len(row)]
                if not toks.size:
                    continue
                ok = (toks < V) & (toks >= 0)
                tk = np.where(ok, self._token_kinds[np.where(ok, toks, 0)], 0)
                tc = np.where(ok, self._token_codings[np.where(ok, toks, 0)], 0)
                bad = np.flatnonzero((tk != kind) | (tc != (_ABSOLUTE if key else _DELTA)))
                if bad.size:
                    name = "angle" if kind == _ANGLE else "position"
                    raise MotionPromptError(
                        f"prompt row {b}: frame {k} ({name} frame {n}, {'a keyframe' if key else 'not a keyframe'}) "
                        f"holds token id {int(toks[bad[0]])} at slot {int(bad[0])}, not of the "
                        f"{'absolute' if key else 'delta'} {name} alphabet; encode prompts with the "
                        "tokenizer's encode_motion"
                    )
                v = self._token_values[toks]
                if key:
                    levels[b, kind - 1, : len(v)] = v
                else:
                    levels[b, kind - 1, : len(v)] += v - self._max_step_np[kind - 1]
                out = np.flatnonzero((levels[b, kind - 1] < 0) | (levels[b, kind - 1] >= self._n_levels_np[kind - 1]))
                if out.size:
                    raise MotionPromptError(
                        f"prompt row {b}: frame {k} takes slot {int(out[0])} to level {int(levels[b, kind - 1, out[0]])}, "
                        f"outside [0, {int(self._n_levels_np[kind - 1])}); encode prompts with the tokenizer's encode_motion"
                    )
        return counts, levels

    # ------------------------------------------------------------------ call
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        B, L = input_ids.shape
        device = input_ids.device
        last = input_ids[:, -1]
        rescan = self._layout is None or B != self._batch_size or L != self._last_length + 1
        if rescan:
            layout = self.prompt_layout(input_ids)
            self._layout = _PromptLayout(*(t.to(device) for t in (layout.frame_width, layout.first_kind, layout.alternate)))
            self._batch_size = B
            # Separator count and position of the last one: scanned once here, then updated from
            # the one new token per step, so a step costs the same at any length.
            is_sep = input_ids == self.sep_id
            self._n_sep = is_sep.sum(dim=1)
            self._last_sep = torch.where(is_sep, torch.arange(L, device=device), -1).amax(dim=1)
            if self.delta:
                counts, levels = self._prompt_levels(input_ids.detach().cpu().numpy(), layout)
                self._stream_frames = torch.from_numpy(counts).to(device)  # (B, 2) frames begun per kind
                self._levels = torch.from_numpy(levels).to(device)  # (B, 2, W) current level per slot
        else:
            new_sep = last == self.sep_id
            self._n_sep = self._n_sep + new_sep
            self._last_sep = torch.where(new_sep, L - 1, self._last_sep)
        self._last_length = L
        lay = self._layout
        n_sep = self._n_sep
        slot = (L - 1) - self._last_sep  # values already generated in the current frame

        # Value slots: kind of the current frame (index n_sep - 1), digit = slot % digits.
        frame_index = (n_sep - 1).clamp(min=0)
        flip = lay.alternate & (frame_index % 2 == 1)
        kind = torch.where(flip, 3 - lay.first_kind, lay.first_kind)
        state = (kind - 1) * self.digits + slot % self.digits
        if self.delta:
            tables = self._delta_table(scores.shape[-1], scores.device)
            k0 = (kind - 1).unsqueeze(1)  # (B, 1) stream of the current frame
            rows = torch.arange(B, device=device)
            if not rescan:  # fold the one new token into the stream counters and levels
                in_motion = n_sep > 0
                self._stream_frames = self._stream_frames.scatter_add(1, k0, (new_sep & in_motion).long().unsqueeze(1))
                tok = last.clamp(0, tables["kinds"].shape[0] - 1)
                is_value = in_motion & ~new_sep & (tables["kinds"][tok] == kind) & (slot >= 1)
                j = (slot - 1).clamp(0, self._levels.shape[2] - 1)
                current = self._levels[rows, kind - 1, j]
                value = tables["values"][tok.clamp(max=tables["values"].shape[0] - 1)]
                step = tables["max_step"][kind - 1]
                level = torch.where(tables["codings"][tok] == _ABSOLUTE, value, current + value - step)
                self._levels[rows, kind - 1, j] = torch.where(is_value, level, current)
            n = self._stream_frames.gather(1, k0).squeeze(1) - 1  # index of the current frame in its stream
            K = self.keyframe_interval
            key = n == 0 if K is None else n % K == 0
            state = torch.where(key, state, self._state_delta + kind - 1)
        state = torch.where(slot == lay.frame_width, self._state_frame_end, state)
        state = torch.where(slot > lay.frame_width, self._state_done, state)
        header = n_sep == 0
        state = torch.where(header & (last == self.bos_id), self._state_after_bos, state)
        state = torch.where(header & (last != self.bos_id), self._state_after_task, state)
        state = torch.where((last == self.eos_id) | (~header & (last == self.pad_id)), self._state_done, state)

        blocked = self._blocked_table(scores.shape[-1], scores.device)[state]
        if self.delta:
            # Only changes that keep the slot's level in [0, n_bins): symbol in [M - level, M + n - 1 - level].
            in_delta = state >= self._state_delta
            level = self._levels[rows, kind - 1, slot.clamp(0, self._levels.shape[2] - 1)]
            step, n_levels = tables["max_step"][kind - 1], tables["n_levels"][kind - 1]
            lo = torch.where(in_delta, step - level, -1)
            hi = torch.where(in_delta, step + n_levels - 1 - level, torch.iinfo(torch.int64).max)
            values = tables["values"]
            blocked = blocked | (values < lo[:, None]) | (values > hi[:, None])
        return scores.masked_fill(blocked, float("-inf"))


class ExpectedValueLogitsProcessor(LogitsProcessor):
    """Decode each value slot as the token nearest the *expected* value under the model's distribution.

    Motion values are ordinal (quantizer levels, or ``delta + max_step`` under delta coding), so the
    mean of the predicted distribution, not its mode, is the estimate that minimises squared error:
    greedy decoding of a delta model returns its most likely change, which is usually "no change"
    (zero velocity) even when the model puts most of its mass on movement in one direction. Rows
    whose allowed tokens are not value tokens (separator, eos) pass through unchanged.

    With ``estimate="median"`` the slot takes the *median* instead, the estimate that minimises
    absolute error: a value is then as likely to lie above it as below, so a thresholded metric
    (PCK) is not traded for squared error. The distribution is read as a histogram of unit-wide
    level bins, so the median is continuous (``predict(..., decoding="median")``).

    Put it after :class:`MotionLogitsProcessor`, so the expectation is over valid tokens only
    (``predict(..., decoding="mean")`` does this); the expectation is over the single alphabet the
    constraint leaves, so kinds and codings are never mixed.
    """

    ESTIMATES = ("mean", "median")

    def __init__(self, tokenizer, choose: bool = True, estimate: str = "mean") -> None:
        if estimate not in self.ESTIMATES:
            raise ValueError(f"estimate must be one of {list(self.ESTIMATES)}, got {estimate!r}")
        values = np.asarray(tokenizer.token_values, dtype=np.float64)
        if values.ndim != 1 or len(values) != len(tokenizer):
            raise ValueError("the tokenizer's token_values must give one value per vocabulary id")
        self.estimate = estimate
        # Value ids in increasing value, for the median's cumulative distribution.
        self._order_np = np.flatnonzero(values >= 0)[np.argsort(values[values >= 0], kind="stable")]
        self._values_np = values
        self._values: dict[torch.device, torch.Tensor] = {}
        # Per call (one per generated token): expected minus chosen value, (batch,), 0 where the
        # slot is not a value. predict(decoding="mean") adds it back, so it returns the expectation.
        self.residuals: list[torch.Tensor] = []
        # choose=False: the scores pass through (generate samples or picks the token) and only the
        # expectation is recorded, (batch,), NaN where the slot is not a value; residuals against
        # the token generate chose come from residuals_against(new_ids).
        self.choose = choose
        self.expected: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if scores.shape[-1] < len(self._values_np):
            raise ValueError(f"scores cover {scores.shape[-1]} ids, the tokenizer has {len(self._values_np)}")
        device = scores.device
        if device not in self._values:
            v = np.full(scores.shape[-1], -1.0)
            v[: len(self._values_np)] = self._values_np
            self._values[device] = torch.as_tensor(v, dtype=torch.float32, device=device)
        values = self._values[device]
        probs = torch.softmax(scores.float(), dim=-1)
        is_value = values >= 0
        value_mass = (probs * is_value).sum(dim=-1)
        if self.estimate == "median":
            estimate = self._median(probs, value_mass, values)
        else:
            estimate = (probs * values.clamp(min=0)).sum(dim=-1) / value_mass.clamp(min=1e-12)
        allowed = torch.isfinite(scores) & is_value
        use = (value_mass > 0.5) & allowed.any(dim=-1)
        if not self.choose:
            self.expected.append(torch.where(use, estimate, torch.full_like(estimate, float("nan"))).detach().cpu())
            return scores
        distance = torch.where(allowed, (values - estimate[:, None]).abs(), torch.inf)
        choice = distance.argmin(dim=-1)
        forced = torch.full_like(scores, float("-inf")).scatter(1, choice[:, None], 0.0)
        self.residuals.append(torch.where(use, estimate - values[choice], torch.zeros_like(estimate)).detach().cpu())
        return torch.where(use[:, None], forced, scores)

    def _median(self, probs: torch.Tensor, value_mass: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Per row, the 0.5 quantile of the value distribution, each level spread over ``[v - 0.5, v + 0.5]``."""
        order = torch.as_tensor(self._order_np, device=probs.device)
        p = probs[:, order] / value_mass.clamp(min=1e-12)[:, None]
        cdf = p.cumsum(dim=-1)
        k = (cdf < 0.5).sum(dim=-1).clamp(max=len(order) - 1)[:, None]
        p_k = p.gather(1, k).squeeze(1)
        below = cdf.gather(1, k).squeeze(1) - p_k
        inside = ((0.5 - below) / p_k.clamp(min=1e-12)).clamp(0.0, 1.0)
        return values[order][k.squeeze(1)] - 0.5 + inside

    def residuals_against(self, new_ids: torch.Tensor) -> torch.Tensor:
        """``choose=False``: expected minus chosen value of each generated token, ``(batch, steps)``
        (0 where the slot is not a value)."""
        if not self.expected:
            return torch.zeros((new_ids.shape[0], 0))
        expected = torch.stack(self.expected, dim=1)
        chosen = torch.as_tensor(self._values_np, dtype=torch.float32)[new_ids[:, : expected.shape[1]].cpu()]
        return torch.where(torch.isnan(expected), torch.zeros_like(expected), expected - chosen)


# ------------------------------------------------------------------------- predict
_CANONICALIZE = ("mean", "first", "none")
_DECODINGS = ("greedy", "mean", "median", "sample-mean")
_SAMPLED = "_sampled"  # one sampled rollout whose values are its per-step expectations (sample-mean's rows)
_ESTIMATED = ("mean", "median", _SAMPLED)  # decodings whose returned values are estimates, not bin centres


def _context_positions(motion: Motion, canonicalize: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions as the dataset builder canonicalises a window, and the world offset removed."""
    pos = motion.positions()
    if canonicalize == "none":
        return pos, np.zeros(3)
    canon = canonicalize_positions(pos, motion.skeleton.up_axis, frame=0 if canonicalize == "first" else None)
    return canon, pos[0, 0] - canon[0, 0]


def _is_motion_path(value) -> bool:
    """A string that names an existing file (M5 text prompts are not paths)."""
    return isinstance(value, os.PathLike) or (isinstance(value, str) and len(value) < 4096 and os.path.isfile(value))


def _as_motion_list(context) -> tuple[list[Motion], bool]:
    if isinstance(context, Motion):
        return [context], True
    if isinstance(context, (list, tuple)) and context and all(isinstance(m, Motion) for m in context):
        return list(context), False
    return [], False


def predict(
    model,
    tokenizer,
    context,
    seconds: float = 0.4,
    *,
    fps: float | None = None,
    representation: str = "angles",
    canonicalize: str = "mean",
    constrained: bool = True,
    include_context: bool = False,
    batch_size: int = 16,
    decoding: str = "greedy",
    anchor: bool = False,
    sliding: bool = False,
    num_samples: int = 16,
    **generate_kwargs: Any,
):
    """Predict the next ``seconds`` of motion with a causal motion language model.

    Args:
        model: a causal LM over the motion vocabulary (e.g. :class:`~hf_motion.modeling.MotionGPT2ForCausalLM`).
        tokenizer: its :class:`~hf_motion.tokenizer.MotionTokenizer`, or its
            :class:`~hf_motion.MotionProcessor` (``AutoProcessor.from_pretrained(model_dir)``): Motion
            contexts (or motion file paths) are then first brought to the model's frame rate and
            joints (:meth:`MotionProcessor.prepare`), and the prediction comes at that rate.
        context: a :class:`~hf_motion.Motion` (or a list of them, same joint count) whose frames are
            the context; or prompt ids (1-D array/tensor/list) or M5 text (``str``) for a single prompt.
        seconds: how much to predict; ``round(seconds * fps)`` frames.
        fps: frame rate; taken from the motion when a Motion is given, required otherwise.
        representation: for Motion input, what the model reads and writes: ``"angles"`` (local
            axis-angle) or ``"positions"`` (canonical joint positions), as causal ``>`` text; or
            ``"both"``: interleaved angle and position frames, as forward-kinematics ``$`` text.
        canonicalize: how context positions are shifted into the tokenizer's box, as the dataset
            builder did for training: ``"mean"`` (root's mean horizontal position over the context),
            ``"first"`` (at the first context frame) or ``"none"``; predictions are shifted back.
        constrained: use :class:`MotionLogitsProcessor` (recommended: the output always decodes).
        include_context: for Motion input, return context + prediction instead of the prediction only.
        batch_size: prompts per ``generate`` call when a list of motions is given.
        decoding: ``"greedy"`` (the most likely token per slot, or whatever ``generate_kwargs`` ask
            for) or ``"mean"`` (:class:`ExpectedValueLogitsProcessor`: the generated sequence takes
            the token nearest the expected value per slot, and for Motion input the returned values
            are the expected values themselves, not snapped to bin centres: the squared-error
            estimate; needs ``constrained=True``) or ``"median"`` (the same with each slot's
            median, the absolute-error estimate: see ``ExpectedValueLogitsProcessor(estimate=)``)
            or ``"sample-mean"`` (Motion input only: the mean
            of ``num_samples`` sampled continuations, each valued at its per-step expectations. The
            squared-error estimate of a *multi-step* forecast is the mean over the futures the
            model thinks possible; ``"mean"`` instead rolls out one path through each step's
            mean, which an uncertain model extrapolates too far. Costs ``num_samples`` rollouts).
        anchor: for Motion input, continue from the context's *exact* last frame: the predicted
            change (each predicted frame relative to the decoded last context frame, as a rotation
            per joint and an offset per position) is applied to the true last frame. The context's
            quantization error (up to half a bin per value) then does not enter the prediction,
            and a model that predicts "no change" returns exactly the zero-velocity forecast.
        sliding: for Motion input whose context plus prediction exceed the model's positions
            (``config.n_positions``): keep only the most recent context frames that fit and
            generate in chunks, each chunk reading the frames just before it (predicted ones
            included), so any context and any horizon work on any skeleton. Off by default: the
            call then raises, saying how many frames fit. See :func:`context_capacity`.
        num_samples: continuations averaged by ``decoding="sample-mean"`` (rotations as the mean
            change from the last context frame, positions as their mean).
        **generate_kwargs: passed to ``model.generate`` (e.g. ``do_sample=True, top_k=20``); greedy by default.

    Returns:
        For a Motion with ``"angles"`` or ``"both"``: a :class:`~hf_motion.Motion` of the predicted
        frames on the same skeleton at the same fps. Its rotations are the predicted angles; the
        root translation is the predicted root position (``"both"``) or held at the last context
        frame (``"angles"``: angle frames carry no root translation). With ``"positions"``
        (positions alone do not determine rotations): the :class:`~hf_motion.tokenizer.MotionTokens`
        of the prediction, positions in metres in the world frame of the context. For a list of
        motions: a list. For ids/text: the :class:`~hf_motion.tokenizer.MotionTokens` of the new frames.

    Raises:
        ValueError / :class:`MotionPromptError`: bad arguments or prompts.
        MotionError: a context clip whose joints differ from the model's (``config.joint_names``) or the
            tokenizer's (``joint_names`` / ``n_joints``): the message lists expected and given joints.
        MotionTokenizerError: unconstrained output that does not decode.
    """
    if not (np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be positive, got {seconds}")
    if representation not in ("angles", "positions", "both"):
        raise ValueError(f"representation must be 'angles', 'positions' or 'both', got {representation!r}")
    if canonicalize not in _CANONICALIZE:
        raise ValueError(f"canonicalize must be one of {list(_CANONICALIZE)}, got {canonicalize!r}")
    if decoding not in _DECODINGS + (_SAMPLED,):
        raise ValueError(f"decoding must be one of {list(_DECODINGS)}, got {decoding!r}")
    if decoding != "greedy" and not constrained:
        raise ValueError(f"decoding={decoding!r} needs constrained=True (the expectation is over valid tokens)")
    if hasattr(tokenizer, "prepare") and hasattr(tokenizer, "tokenizer"):  # a MotionProcessor
        processor, tokenizer = tokenizer, tokenizer.tokenizer
        if isinstance(context, Motion) or _is_motion_path(context):
            context = processor.prepare(context)
        elif isinstance(context, (list, tuple)) and context and all(isinstance(c, Motion) or _is_motion_path(c) for c in context):
            context = [processor.prepare(c) for c in context]
    motions, single = _as_motion_list(context)
    if decoding == "sample-mean":
        if not motions:
            raise ValueError("decoding='sample-mean' needs Motion context (it averages decoded continuations)")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
        rows = predict(
            model, tokenizer, [m for m in motions for _ in range(num_samples)], seconds, representation=representation,
            canonicalize=canonicalize, constrained=True, include_context=False, batch_size=batch_size,
            decoding=_SAMPLED, anchor=anchor, sliding=sliding, **generate_kwargs,
        )  # fmt: skip
        out = []
        for k, m in enumerate(motions):
            mean = _average_samples(m, rows[k * num_samples : (k + 1) * num_samples], representation)
            if include_context:
                mean = (
                    type(mean)(mean.task, None, np.concatenate([m.positions(), mean.positions]))
                    if representation == "positions"
                    else _concat(m, mean)
                )
            out.append(mean)
        return out[0] if single else out
    if motions:
        n_expected, names = _expected_joints(model, tokenizer)
        for k, m in enumerate(motions):
            _check_motion_joints(m, k, n_expected, names)
        n_new = _num_frames(seconds, motions[0].fps)
        frame_tokens = context_capacity(model, tokenizer, motions[0].num_joints, representation)["tokens_per_frame"]
        limit = getattr(getattr(model, "config", None), "n_positions", None)
        longest = max(m.num_frames for m in motions)
        if limit is not None and 2 + (longest + n_new) * frame_tokens > limit:
            fit = (limit - 2) // frame_tokens
            if not sliding:
                raise ValueError(
                    f"{longest} context frames plus {n_new} predicted frames of {motions[0].num_joints} joints are "
                    f"{2 + (longest + n_new) * frame_tokens} tokens, more than the model's {limit} positions "
                    f"({fit} frames in all fit); pass sliding=True to keep the most recent frames that fit and "
                    "predict in chunks, or shorten the context"
                )
            if representation == "positions":
                raise ValueError("sliding=True needs representation='angles' or 'both' (it feeds predictions back as context)")
            if fit < 2:
                raise ValueError(f"the model's {limit} positions hold {fit} frame(s) of this skeleton: too few to slide")
            return _predict_sliding(
                model, tokenizer, motions, single, n_new, fit, representation, canonicalize, constrained, decoding,
                include_context, generate_kwargs, anchor, batch_size,
            )  # fmt: skip
        results = []
        for start in range(0, len(motions), batch_size):
            results += _predict_motions(
                model, tokenizer, motions[start : start + batch_size], seconds, representation,
                canonicalize, constrained, decoding, include_context, generate_kwargs, anchor,
            )  # fmt: skip
        return results[0] if single else results

    if fps is None:
        raise ValueError("predict needs fps= when the context is ids or text rather than a Motion")
    if isinstance(context, str):
        ids = np.asarray(tokenizer(context, add_special_tokens=True)["input_ids"], dtype=np.int64)
    else:
        ids = torch.as_tensor(context).detach().cpu().numpy().astype(np.int64)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(f"prompt ids must be one non-empty 1-D sequence, got shape {ids.shape}")
    if ids[-1] == tokenizer.eos_token_id:
        ids = ids[:-1]
    n_expected, _ = _expected_joints(model, tokenizer)
    layout = MotionLogitsProcessor(tokenizer).prompt_layout(ids)
    width = int(layout.frame_width[0])
    if n_expected is not None and width != n_expected * tokenizer.values_per_joint:
        raise MotionPromptError(
            f"the prompt's frames have {width // tokenizer.values_per_joint} joints ({width} tokens), but the model "
            f"and tokenizer were made for {n_expected}; encode the context with those joints (Motion.select_joints)"
        )
    seps = np.flatnonzero(ids == tokenizer.frame_separator_id)
    if len(ids) - seps[-1] - 1 != width:
        raise MotionPromptError(
            f"the prompt's last frame has {len(ids) - seps[-1] - 1} tokens, not the frame width {width}: "
            "predict continues after complete frames"
        )
    frames_per_step = 2 if bool(layout.alternate[0]) else 1
    n_frames = _num_frames(seconds, fps) * frames_per_step
    new = _generate(model, tokenizer, [ids], n_frames * (width + 1), constrained, decoding, generate_kwargs)[0]
    task = next((t for t, i in tokenizer.task_token_ids.items() if i in ids[:3]), ">")
    eos = [tokenizer.eos_token_id]
    # Decoded with the prompt in front (delta coding: the new frames are changes from the prompt's),
    # then the prompt's frames of each kind are dropped.
    before = tokenizer.decode_motion(np.concatenate([ids, eos]))
    dec = tokenizer.decode_motion(np.concatenate([ids, new, eos]), strict=constrained)
    n_angles, n_positions = (0 if a is None else len(a) for a in (before.angles, before.positions))
    return type(dec)(task, _after(dec.angles, n_angles), _after(dec.positions, n_positions))


def context_capacity(model, tokenizer, num_joints: int, representation: str = "angles", fps: float | None = None) -> dict:
    """How much motion fits in ``model``'s positions: tokens per frame (per time step: two frames
    for ``"both"``), frames that fit (bos and task token aside) and, with ``fps``, tokens per
    second of motion and seconds that fit."""
    per_step = (num_joints * tokenizer.values_per_joint + 1) * (2 if representation == "both" else 1)
    limit = getattr(getattr(model, "config", None), "n_positions", None)
    out = {"tokens_per_frame": per_step, "positions": limit, "frames": None if limit is None else (limit - 2) // per_step}
    if fps is not None:
        out["tokens_per_second"] = per_step * fps
        out["seconds"] = None if limit is None else out["frames"] / fps
    return out


def _predict_sliding(
    model,
    tokenizer,
    motions,
    single,
    n_new,
    fit,
    representation,
    canonicalize,
    constrained,
    decoding,
    include_context,
    generate_kwargs,
    anchor,
    batch_size,
):
    """Chunks of at most half the window, each from the most recent ``fit - chunk`` frames."""
    fps = motions[0].fps
    chunk = max(1, min(n_new, fit // 2))
    current = list(motions)
    done = 0
    while done < n_new:
        h = min(chunk, n_new - done)
        keep = fit - h
        window = [m.slice(max(0, m.num_frames - keep)) for m in current]
        grown = []
        for start in range(0, len(window), batch_size):
            grown += _predict_motions(
                model, tokenizer, window[start : start + batch_size], h / fps, representation, canonicalize,
                constrained, decoding, False, generate_kwargs, anchor,
            )  # fmt: skip
        current = [_concat(m, g) for m, g in zip(current, grown)]
        done += h
    out = [m if include_context else m.slice(m.num_frames - n_new) for m in current]
    return out[0] if single else out


def _average_samples(m: Motion, samples: list, representation: str):
    """The mean of sampled continuations of ``m``: positions averaged; rotations averaged as changes
    from ``m``'s last frame (a tangent-space mean there, so no axis-angle wrap is averaged)."""
    if representation == "positions":
        return type(samples[0])(samples[0].task, None, np.mean([s.positions for s in samples], axis=0))
    from .rotations import compose_rotation, relative_rotation

    ref = m.rotations[-1]
    steps = np.mean([relative_rotation(ref, s.rotations) for s in samples], axis=0)
    root = np.mean([s.root_translation for s in samples], axis=0)
    first = samples[0]
    return Motion(compose_rotation(ref, steps), root, m.skeleton, m.fps, dict(m.labels), first.local_translations)


def _concat(a: Motion, b: Motion) -> Motion:
    local = None if a.local_translations is None else np.concatenate([a.local_translations, b.local_translations])
    return Motion(np.concatenate([a.rotations, b.rotations]), np.concatenate([a.root_translation, b.root_translation]),
                  a.skeleton, a.fps, dict(a.labels), local)  # fmt: skip


def _add_residuals(tokenizer, dec, new: np.ndarray, residual: np.ndarray, width: int):
    """The expected values instead of the chosen bins: each new value moved by its residual
    (expected minus chosen level) times the bin width, in the tokenizer's coordinates (relative to
    the angle reference, when there is one)."""
    if tokenizer.digits != 1:  # coarse/fine: a residual of the fine digit alone has no single scale
        return dec
    kinds = np.asarray(tokenizer.token_kinds)
    frames = new.reshape(-1, width + 1)[:, 1:]  # new ids are [sep, width values] per frame
    res = residual.reshape(-1, width + 1)[:, 1:]
    frame_kind = kinds[frames[:, 0]]
    angles, positions = dec.angles, dec.positions
    for code, kind in ((_ANGLE, "angle"), (_POSITION, "position")):
        rows = np.flatnonzero(frame_kind == code)
        arr = angles if kind == "angle" else positions
        if not len(rows) or arr is None:
            continue
        r = res[rows].reshape(len(rows), -1, 3)
        q = tokenizer.angle_quantizer if kind == "angle" else tokenizer.position_quantizer
        if kind == "angle":
            ref = getattr(tokenizer, "angle_reference", None)
            if ref is not None:
                from .rotations import compose_rotation, relative_rotation

                angles = compose_rotation(ref, relative_rotation(ref, arr) + r * q.delta)
            else:
                angles = arr + r * q.delta
        else:
            positions = arr + r * q.delta
    return type(dec)(dec.task, angles, positions)


def _after(arr: np.ndarray | None, n: int) -> np.ndarray | None:
    """The frames of ``arr`` after the first ``n`` (the prompt's), or None if there are none."""
    return None if arr is None or len(arr) <= n else arr[n:]


def _num_frames(seconds: float, fps: float) -> int:
    n = int(round(seconds * fps))
    if n < 1:
        raise ValueError(f"{seconds} s at {fps:g} fps is less than one frame")
    return n


def _generate(
    model,
    tokenizer,
    prompts: list[np.ndarray],
    max_new: int,
    constrained: bool,
    decoding: str,
    generate_kwargs,
    residuals: list | None = None,
) -> list[np.ndarray]:
    """Left-pad the prompts, generate exactly ``max_new`` tokens each, return the new ids per row
    (and, with ``decoding="mean"`` and a ``residuals`` list, append per row the expected-minus-chosen
    value of every new token)."""
    device = next(model.parameters()).device
    L = max(len(p) for p in prompts)
    pad = tokenizer.pad_token_id
    ids = torch.full((len(prompts), L), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), L), dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, L - len(p) :] = torch.as_tensor(p)
        mask[b, L - len(p) :] = 1
    kwargs = dict(do_sample=False, pad_token_id=pad, eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    kwargs.update(generate_kwargs)
    processors = LogitsProcessorList(kwargs.pop("logits_processor", None) or [])
    if constrained:
        processors.append(MotionLogitsProcessor(tokenizer))
    expectation = None
    if decoding in _ESTIMATED:
        estimate = "median" if decoding == "median" else "mean"
        expectation = ExpectedValueLogitsProcessor(tokenizer, choose=decoding != _SAMPLED, estimate=estimate)
        processors.append(expectation)
    if decoding == _SAMPLED:
        kwargs["do_sample"] = True
    limit = getattr(getattr(model, "config", None), "n_positions", None)
    if limit is not None and L + max_new > limit:
        raise ValueError(
            f"context ({L} tokens) plus prediction ({max_new} tokens) exceeds the model's {limit} positions; "
            "shorten the context, predict less, or use fewer joints / a lower frame rate"
        )
    with torch.no_grad():
        out = model.generate(
            ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=max_new,
            min_new_tokens=max_new,
            logits_processor=processors,
            **kwargs,
        )
    rows = [row.cpu().numpy() for row in out[:, L:]]
    if residuals is not None:
        if decoding == _SAMPLED:
            res = expectation.residuals_against(out[:, L:]).numpy()
        else:
            res = torch.stack(expectation.residuals, dim=1).numpy() if expectation.residuals else np.zeros((len(rows), 0))
        residuals.extend(res[b, : len(rows[b])] for b in range(len(rows)))
    return rows


def _predict_motions(
    model,
    tokenizer,
    motions,
    seconds,
    representation,
    canonicalize,
    constrained,
    decoding,
    include_context,
    generate_kwargs,
    anchor=False,
):
    J = motions[0].num_joints
    fps = motions[0].fps
    for k, m in enumerate(motions):
        if m.num_joints != J or m.fps != fps:
            raise MotionError(f"context motion {k} has {m.num_joints} joints at {m.fps:g} fps; motion 0 has {J} at {fps:g} fps")
        if m.num_frames < 1:
            raise MotionError(f"context motion {k} has no frames")
    n_new = _num_frames(seconds, fps)
    # The training tasks: angle-only or position-only frames are causal text (">"); interleaved
    # angle/position frames are forward-kinematics text ("$"), which continues frame by frame.
    task = "$" if representation == "both" else ">"
    prompts, offsets, last_positions = [], [], []
    for m in motions:
        pos, offset = _context_positions(m, canonicalize) if representation != "angles" else (None, None)
        angles = m.rotations if representation != "positions" else None
        ids = tokenizer.encode_motion(angles=angles, positions=pos, task=task)
        prompts.append(ids[:-1])  # drop <eos>: generation continues the last frame
        offsets.append(offset)
        last_positions.append(None if pos is None else pos[-1])
    frames_per_step = 2 if representation == "both" else 1
    width = J * tokenizer.values_per_joint
    residuals: list[np.ndarray] | None = [] if decoding in _ESTIMATED else None
    news = _generate(
        model, tokenizer, prompts, n_new * frames_per_step * (width + 1), constrained, decoding, generate_kwargs,
        residuals,
    )  # fmt: skip
    results = []
    for b, (m, prompt, new, offset, last_pos) in enumerate(zip(motions, prompts, news, offsets, last_positions)):
        # Decoded with the context in front (delta coding: the new frames are changes from the
        # context's); then the context's frames are dropped from each stream.
        seq = np.concatenate([prompt, new, [tokenizer.eos_token_id]])
        full = tokenizer.decode_motion(seq, strict=constrained)
        n_angles = m.num_frames if representation != "positions" else 0
        n_positions = m.num_frames if representation != "angles" else 0
        dec = type(full)(full.task, _after(full.angles, n_angles), _after(full.positions, n_positions))
        if residuals is not None:
            dec = _add_residuals(tokenizer, dec, new, residuals[b], width)
        if anchor and dec.angles is not None and n_angles:
            from .rotations import compose_rotation, relative_rotation

            step = relative_rotation(full.angles[n_angles - 1], dec.angles)  # per joint, from the decoded last frame
            dec = type(dec)(dec.task, compose_rotation(m.rotations[-1], step), dec.positions)
        if anchor and dec.positions is not None and n_positions:
            dec = type(dec)(dec.task, dec.angles, dec.positions - full.positions[n_positions - 1] + last_pos)
        for name, arr in (("angle", dec.angles), ("position", dec.positions)):
            wanted = representation == "both" or representation == name + "s"
            if wanted and (arr is None or len(arr) != n_new):
                raise MotionPromptError(
                    f"the model produced {0 if arr is None else len(arr)} {name} frames, expected {n_new} "
                    "(generate with constrained=True to guarantee the layout)"
                )
        if representation == "positions":
            world = dec.positions + offset
            if include_context:
                world = np.concatenate([m.positions(), world])
            results.append(type(dec)(dec.task, None, world))
            continue
        root = dec.positions[:, 0] + offset if representation == "both" else np.repeat(m.root_translation[-1:], n_new, axis=0)
        local = None if m.local_translations is None else np.repeat(m.local_translations[-1:], n_new, axis=0)
        pred = Motion(dec.angles, root, m.skeleton, fps, dict(m.labels), local)
        results.append(_concat(m, pred) if include_context else pred)
    return results
