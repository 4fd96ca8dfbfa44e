"""Constrained generation and the inference API of the text + motion model.

:class:`MotionSpanLogitsProcessor` keeps every generated answer decodable: in ``"motion"`` mode
the output is exactly ``<motion_start>``, ``steps`` steps of ``L`` code tokens in layer order,
``<motion_end>``, eos; in ``"text"`` mode no motion token (nor a special token other than eos)
can appear. The task functions build their prompts from the instruction templates
(:func:`hf_motion.instructions.load_tasks`, phrasing 0) and return codes, clips or captions.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from .modeling_motion_t5 import is_seq2seq

MODES = ("motion", "text")

__all__ = [
    "MotionSpanLogitsProcessor",
    "build_prompt",
    "format_seconds",
    "generate_motion_codes",
    "generate_text",
    "text_to_motion",
    "motion_to_text",
    "continue_motion_codes",
    "inbetween_codes",
]


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


class MotionSpanLogitsProcessor(LogitsProcessor):
    """Blocks every token that would make the generated answer undecodable.

    Args:
        processor: the :class:`~hf_motion.models.motion_t5.TextMotionProcessor` (its token ids).
        mode: ``"motion"``: the answer is ``<motion_start>``, ``steps`` steps of ``L`` code tokens
            (position ``l`` of a step only from layer ``l``'s ids), ``<motion_end>``, then eos.
            ``"text"``: motion tokens (markers and codes) and special tokens other than eos are
            blocked, so the answer is plain text.
        steps: motion mode: code steps, one int for all rows or one per batch row.
        prompt_length: tokens before the first generated one in ``input_ids``: 1 for T5 (the
            decoder start token), the (left-padded) prompt length for GPT-2.

    Works with greedy search and sampling (``num_beams=1``); rows expanded by
    ``num_return_sequences`` repeat their row's ``steps``.
    """

    def __init__(self, processor, mode: str = "motion", steps: int | Sequence[int] | None = None, prompt_length: int = 1) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        if not _is_int(prompt_length) or prompt_length < 1:
            raise ValueError(f"prompt_length must be an integer >= 1, got {prompt_length!r}")
        self.mode, self.prompt_length = mode, int(prompt_length)
        ids = processor.token_ids
        V = len(processor.tokenizer)
        eos = processor.eos_token_id
        L = ids.tokens_per_step
        self.tokens_per_step = L
        if mode == "motion":
            if steps is None:
                raise ValueError('mode "motion" needs steps (an int or one per batch row)')
            steps_list = [steps] if _is_int(steps) else list(steps)
            if not steps_list or not all(_is_int(s) and s >= 1 for s in steps_list):
                raise ValueError(f"steps must be integers >= 1, got {steps!r}")
            self.steps = torch.tensor([int(s) for s in steps_list], dtype=torch.long)
            allowed = np.zeros((L + 3, V), dtype=bool)  # start, layer 0..L-1, end, eos
            allowed[0, ids.start] = True
            for layer in range(L):
                allowed[1 + layer, ids.codes[layer]] = True
            allowed[L + 1, ids.end] = True
            allowed[L + 2, eos] = True
        else:
            if steps is not None:
                raise ValueError('mode "text" takes no steps')
            self.steps = None
            allowed = np.ones((1, V), dtype=bool)
            allowed[0, ids.all_ids()] = False
            specials = [int(i) for i in processor.tokenizer.all_special_ids if int(i) != eos]
            allowed[0, specials] = False
        self._allowed = allowed
        self._blocked: torch.Tensor | None = None

    def _table(self, vocab: int, device: torch.device) -> torch.Tensor:
        if self._blocked is None or self._blocked.shape[1] != vocab or self._blocked.device != device:
            n = self._allowed.shape[1]
            if vocab < n:
                raise ValueError(f"the model scores {vocab} tokens but the tokenizer has {n}; resize the model's embeddings")
            allowed = np.zeros((self._allowed.shape[0], vocab), dtype=bool)
            allowed[:, :n] = self._allowed  # spare embedding rows beyond the tokenizer stay blocked
            self._blocked = torch.from_numpy(~allowed).to(device)
        return self._blocked

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        k = input_ids.shape[1] - self.prompt_length  # tokens generated so far
        if k < 0:
            raise ValueError(
                f"MotionSpanLogitsProcessor was built for prompt_length={self.prompt_length} but got sequences of "
                f"{input_ids.shape[1]} tokens"
            )
        table = self._table(scores.shape[-1], scores.device)
        if self.mode == "text":
            return scores.masked_fill(table[0][None, :], float("-inf"))
        B = scores.shape[0]
        steps = self.steps
        if B != len(steps):
            if B % len(steps):
                raise ValueError(f"{len(steps)} step counts for a batch of {B} rows")
            steps = steps.repeat_interleave(B // len(steps))  # rows expanded by num_return_sequences
        n = steps.to(scores.device) * self.tokens_per_step
        L = self.tokens_per_step
        if k == 0:
            state = torch.zeros(B, dtype=torch.long, device=scores.device)
        else:
            layer_state = torch.full((B,), 1 + (k - 1) % L, dtype=torch.long, device=scores.device)
            end = torch.full_like(layer_state, L + 1)
            eos = torch.full_like(layer_state, L + 2)
            state = torch.where(k <= n, layer_state, torch.where(n + 1 == k, end, eos))
        return scores.masked_fill(table[state], float("-inf"))


# ------------------------------------------------------------------ prompts
def format_seconds(seconds: float) -> str:
    """How a duration is written in prompts: ``2.5`` -> ``"2.5"``, ``3.0`` -> ``"3"`` (format ``:g``)."""
    return f"{float(seconds):g}"


def build_prompt(task: str, values: dict[str, Any], tasks: dict | None = None) -> str:
    """The input text of instruction ``task`` (phrasing 0, the inference phrasing) for ``values``.

    ``tasks`` defaults to :func:`hf_motion.instructions.load_tasks`; output fields need no value."""
    if tasks is None:
        from ...instructions import load_tasks  # lazily: the instruction file is optional for the model itself

        tasks = load_tasks()
    if task not in tasks:
        raise ValueError(f"unknown instruction task {task!r}; known: {sorted(tasks)}")
    t = tasks[task]
    missing = t.input_fields - set(values)
    if missing:
        raise ValueError(f"task {task!r} needs the fields {sorted(missing)}; got {sorted(values)}")
    if hasattr(t, "prompt"):
        return t.prompt(values, phrasing=0)
    filled = {name: "" for name in t.output_fields}  # render() wants the target's fields too
    filled.update(values)
    return t.render(filled, phrasing=0)[0]


def _motion_task_prompt(task: str, values: dict[str, Any], output_field: str, tasks) -> str:
    if tasks is None:
        from ...instructions import load_tasks

        tasks = load_tasks()
    if task in tasks:
        outputs = tasks[task].outputs
        if any(o.strip() != "{" + output_field + "}" for o in outputs):
            # The decoder is constrained to the motion span alone: a target with text around it
            # could never be generated.
            raise ValueError(
                f"task {task!r} has outputs {list(outputs)}; constrained motion generation needs every output to be "
                f"exactly '{{{output_field}}}'"
            )
    return build_prompt(task, values, tasks)


def _custom_prompt(prompt: str, values: dict[str, Any]) -> str:
    fields = {name for _, name, _, _ in string.Formatter().parse(prompt) if name}
    unknown = fields - set(values)
    if unknown:
        raise ValueError(f"prompt uses the fields {sorted(unknown)}; it may use {sorted(values)}")
    return prompt.format(**values) if fields else prompt


# ------------------------------------------------------------------ generation
def _sampling_kwargs(greedy: bool, temperature: float, top_k: int | None) -> dict[str, Any]:
    if greedy:
        return {"do_sample": False}
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    if top_k is not None and (not _is_int(top_k) or top_k < 1):
        raise ValueError(f"top_k must be None or an integer >= 1, got {top_k!r}")
    # top_k=0 switches the cut off explicitly (transformers' default would be 50).
    return {"do_sample": True, "temperature": float(temperature), "top_k": 0 if top_k is None else int(top_k), "top_p": 1.0}


def _generate(
    model,
    processor,
    prompts: Sequence[str],
    mode: str,
    steps: Sequence[int] | None,
    max_new_tokens: int,
    sampling: dict[str, Any],
    seed: int,
    batch_size: int,
) -> list[np.ndarray]:
    """Generated token ids (without prompt / decoder start) per prompt."""
    if isinstance(prompts, str) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise ValueError("prompts must be a non-empty list of strings")
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if not _is_int(seed):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    seq2seq = is_seq2seq(model)
    token_ids = dict(pad_token_id=processor.pad_token_id, eos_token_id=processor.eos_token_id)
    if seq2seq:
        start = model.config.decoder_start_token_id
        token_ids["decoder_start_token_id"] = processor.pad_token_id if start is None else int(start)
    else:
        bos = getattr(model.config, "bos_token_id", None)
        token_ids["bos_token_id"] = processor.eos_token_id if bos is None else int(bos)
    config = GenerationConfig(max_new_tokens=int(max_new_tokens), num_beams=1, num_return_sequences=1, **token_ids, **sampling)
    device = model.device
    was_training, saved_config = model.training, model.generation_config
    model.eval()  # dropout would make sampling noisier than the model and seeds meaningless
    # generate() fills every unset field from model.generation_config (a Hub model's
    # no_repeat_ngram_size, forced tokens, ... would fight the constraint): use a bare one meanwhile.
    model.generation_config = GenerationConfig(**token_ids)
    out: list[np.ndarray] = []
    try:
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(int(seed))
            for lo in range(0, len(prompts), batch_size):
                chunk = list(prompts[lo : lo + batch_size])
                enc = processor(text=chunk, causal=not seq2seq)
                input_ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
                prompt_length = 1 if seq2seq else input_ids.shape[1]
                n_pos = getattr(model.config, "n_positions", None)
                if not seq2seq and n_pos is not None and prompt_length + max_new_tokens > n_pos:
                    raise ValueError(
                        f"a prompt of {prompt_length} tokens plus {max_new_tokens} new tokens exceeds the model's "
                        f"n_positions={n_pos}; shorten the prompt or the motion"
                    )
                chunk_steps = None if steps is None else list(steps[lo : lo + batch_size])
                constraint = MotionSpanLogitsProcessor(processor, mode, steps=chunk_steps, prompt_length=prompt_length)
                seqs = model.generate(
                    input_ids=input_ids, attention_mask=mask, generation_config=config,
                    logits_processor=LogitsProcessorList([constraint]),
                )  # fmt: skip
                out.extend(row for row in seqs[:, prompt_length:].cpu().numpy())
    finally:
        model.generation_config = saved_config
        model.train(was_training)
    return out


def _parse_motion(processor, row: np.ndarray, steps: int) -> np.ndarray:
    ids = processor.token_ids
    L = ids.tokens_per_step
    n = steps * L
    layer, code = ids.code_lookup(max(len(processor.tokenizer), int(row.max()) + 1))
    body = row[1 : 1 + n]
    ok = (
        len(row) >= n + 3
        and row[0] == ids.start
        and row[n + 1] == ids.end
        and row[n + 2] == processor.eos_token_id
        and np.array_equal(layer[body], np.tile(np.arange(L), steps))
    )
    if not ok:  # the constraint makes this impossible; a model that ignores logits processors would get here
        raise RuntimeError(f"generation did not produce a span of {steps} steps: {row[: n + 3].tolist()}")
    return code[body].reshape(steps, L)


def generate_motion_codes(
    model,
    processor,
    prompts: Sequence[str],
    steps: int | Sequence[int],
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    seed: int = 0,
    batch_size: int = 32,
) -> list[np.ndarray]:
    """Generate one motion span per prompt under the constraint: a list of ``(steps_i, L)`` code arrays.

    Args:
        model: a T5 (seq2seq) or GPT-2 (causal) model over the merged tokenizer.
        processor: the :class:`~hf_motion.models.motion_t5.TextMotionProcessor`.
        prompts: input texts (e.g. :func:`build_prompt` of a task).
        steps: code steps per prompt (one int for all, or one per prompt), each in
            ``[1, processor.max_motion_steps]``.
        temperature, top_k: sampling parameters (``top_k=None``: no cut); ignored when ``greedy``.
        greedy: take the most likely allowed token at every position.
        seed: seeds the sampling (the caller's torch RNG state is left as it was).
        batch_size: prompts per ``generate`` call (T5 pads on the right, GPT-2 on the left).
    """
    if isinstance(prompts, str):
        raise ValueError("prompts must be a list of strings (wrap one prompt in a list)")
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    prompts = list(prompts)
    steps_list = [steps] * len(prompts) if _is_int(steps) else list(steps)
    if len(steps_list) != len(prompts):
        raise ValueError(f"got {len(prompts)} prompts but {len(steps_list)} step counts")
    steps_list = [processor.check_steps(s) for s in steps_list]
    sampling = _sampling_kwargs(greedy, temperature, top_k)
    L = processor.tokens_per_step
    # Rows of a batch share max_new_tokens; shorter ones end with eos and are padded. Each batch
    # is seeded by seed + its first index, so its samples do not depend on the batches before it.
    rows: list[np.ndarray] = []
    for lo in range(0, len(prompts), batch_size):
        chunk, chunk_steps = prompts[lo : lo + batch_size], steps_list[lo : lo + batch_size]
        new = max(chunk_steps) * L + 3
        rows.extend(_generate(model, processor, chunk, "motion", chunk_steps, new, sampling, seed + lo, batch_size))
    return [_parse_motion(processor, row, s) for row, s in zip(rows, steps_list)]


def generate_text(
    model,
    processor,
    prompts: Sequence[str],
    max_new_tokens: int = 32,
    greedy: bool = True,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    batch_size: int = 32,
) -> list[str]:
    """Generate a plain-text answer per prompt (motion tokens blocked), decoded without special tokens."""
    if not _is_int(max_new_tokens) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be an integer >= 1, got {max_new_tokens!r}")
    rows = _generate(model, processor, prompts, "text", None, int(max_new_tokens),
                     _sampling_kwargs(greedy, temperature, top_k), seed, batch_size)  # fmt: skip
    texts = []
    for row in rows:
        eos = np.flatnonzero(row == processor.eos_token_id)
        row = row[: eos[0]] if len(eos) else row
        texts.append(processor.tokenizer.decode(row.tolist(), skip_special_tokens=True).strip())
    return texts


# ------------------------------------------------------------------ tasks
def text_to_motion(
    model,
    processor,
    text: str,
    seconds: float | None = None,
    steps: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    greedy: bool = False,
    prompt: str | None = None,
    tasks: dict | None = None,
):
    """Generate a :class:`~hf_motion.Motion` for the caption ``text``.

    The length is ``seconds`` (prompt ``text_to_motion_seconds``; the clip has
    ``round(seconds * fps)`` frames), or ``steps`` code steps (prompt ``text_to_motion``;
    ``steps * downsample`` frames), or the processor's ``default_motion_steps``. ``prompt``
    replaces the task's phrasing: a template with ``{caption}`` (and ``{seconds}``) fields.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty caption, got {text!r}")
    if seconds is not None and steps is not None:
        raise ValueError("give seconds or steps, not both")
    values: dict[str, Any] = {"caption": text.strip()}
    if seconds is not None:
        n = processor.steps_for_seconds(seconds)
        frames = min(processor.frames_for_seconds(seconds), n * processor.downsample)
        values["seconds"] = format_seconds(seconds)
        task = "text_to_motion_seconds"
    else:
        n = processor.default_motion_steps if steps is None else processor.check_steps(steps)
        frames = n * processor.downsample
        task = "text_to_motion"
    text_prompt = _custom_prompt(prompt, values) if prompt is not None else _motion_task_prompt(task, values, "motion", tasks)
    codes = generate_motion_codes(model, processor, [text_prompt], [n], temperature=temperature, top_k=top_k,
                                  greedy=greedy, seed=seed)[0]  # fmt: skip
    return processor.codes_to_motion(codes, num_frames=frames)


def _span_of(processor, motion) -> str:
    if isinstance(motion, np.ndarray):
        return processor.codes_to_span(motion)
    return processor.motion_to_span(motion)


def motion_to_text(
    model,
    processor,
    motion,
    max_new_tokens: int = 32,
    greedy: bool = True,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    prompt: str | None = None,
    tasks: dict | None = None,
) -> str:
    """Caption a clip (a :class:`~hf_motion.Motion`, a motion file, or ``(S, L)`` codes) with the
    ``motion_to_text`` prompt (phrasing 0; ``prompt``: a template with a ``{motion}`` field)."""
    values = {"motion": _span_of(processor, motion)}
    text_prompt = _custom_prompt(prompt, values) if prompt is not None else build_prompt("motion_to_text", values, tasks)
    return generate_text(model, processor, [text_prompt], max_new_tokens=max_new_tokens, greedy=greedy,
                         temperature=temperature, top_k=top_k, seed=seed)[0]  # fmt: skip


def _as_batch(codes) -> tuple[list, bool]:
    if isinstance(codes, np.ndarray) or (isinstance(codes, torch.Tensor)):
        return [np.asarray(codes)], True
    if isinstance(codes, (list, tuple)) and codes and all(isinstance(c, (np.ndarray, torch.Tensor)) for c in codes):
        return [np.asarray(c) for c in codes], False
    raise TypeError("codes must be an (S, L) array or a list of such arrays")


def _per_row(value, n: int, name: str) -> list[int]:
    values = [value] * n if _is_int(value) else list(value)
    if len(values) != n:
        raise ValueError(f"got {len(values)} values of {name} for {n} motions")
    return values


def continue_motion_codes(
    model,
    processor,
    past_codes,
    steps: int | Sequence[int],
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    seed: int = 0,
    batch_size: int = 32,
    tasks: dict | None = None,
):
    """Predict ``steps`` future code steps after ``past_codes`` (task ``motion_prediction``).

    ``past_codes``: one ``(P, L)`` array -> one ``(steps, L)`` array; a list of arrays (a batch)
    -> a list (``steps`` one int or one per motion). Only the future steps are returned.
    """
    batch, single = _as_batch(past_codes)
    steps_list = _per_row(steps, len(batch), "steps")
    prompts = [_motion_task_prompt("motion_prediction", {"motion_past": processor.codes_to_span(c)}, "motion_future", tasks) for c in batch]
    out = generate_motion_codes(model, processor, prompts, steps_list, temperature=temperature, top_k=top_k,
                                greedy=greedy, seed=seed, batch_size=batch_size)  # fmt: skip
    return out[0] if single else out


def inbetween_codes(
    model,
    processor,
    codes,
    start: int | Sequence[int],
    stop: int | Sequence[int],
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    seed: int = 0,
    batch_size: int = 32,
    tasks: dict | None = None,
):
    """Fill steps ``[start, stop)`` of ``codes`` (task ``inbetweening``): the model sees the
    :meth:`~hf_motion.models.motion_t5.TextMotionProcessor.masked_span` and returns the
    ``(stop - start, L)`` middle codes (a list for a list of code arrays)."""
    batch, single = _as_batch(codes)
    starts, stops = _per_row(start, len(batch), "start"), _per_row(stop, len(batch), "stop")
    prompts = [
        _motion_task_prompt("inbetweening", {"motion_masked": processor.masked_span(c, a, b)}, "motion_middle", tasks)
        for c, a, b in zip(batch, starts, stops)
    ]
    out = generate_motion_codes(model, processor, prompts, [b - a for a, b in zip(starts, stops)], temperature=temperature,
                                top_k=top_k, greedy=greedy, seed=seed, batch_size=batch_size)  # fmt: skip
    return out[0] if single else out
