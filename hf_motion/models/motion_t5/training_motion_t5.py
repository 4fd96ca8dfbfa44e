"""Training data and evaluation of the text+motion model (MotionGPT on our stack).

* :func:`prepare_clips` turns clips into :class:`TextMotionClip` (VQ codes, pose features, labels
  and captions: from a caption file, or written from the labels by the caption templates).
* :func:`instruction_examples` renders the instruction tasks (:mod:`hf_motion.instructions`) over
  clips into a ``datasets.Dataset`` of ``task``, ``input`` and ``target`` texts.
* :func:`evaluate_text_motion` scores a trained model on held-out clips: text-to-motion
  (R-precision, FID, diversity against the real clips and a retrieval baseline), motion-to-text
  (BLEU, ROUGE-L, content and style words against the majority caption), and prediction and
  in-betweening (ADE, FDE and middle-frame error against zero-velocity and linear interpolation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ...instructions import CaptionTemplates, InstructionTask, caption_from_labels, parse_caption

__all__ = [
    "TextMotionClip",
    "prepare_clips",
    "split_points",
    "instruction_examples",
    "TextMotionEvaluation",
    "evaluate_text_motion",
]


@dataclass
class TextMotionClip:
    """One clip for the text+motion model: ``codes`` ``(S, L)``, ``features`` ``(S * downsample, D)``."""

    clip_id: str
    codes: np.ndarray
    features: np.ndarray
    labels: dict[str, str]
    captions: list[str]


def prepare_clips(
    vq,
    vq_processor,
    motions: Sequence[Any],
    clip_ids: Sequence[str],
    *,
    max_steps: int,
    captions: Mapping[str, Sequence[str]] | None = None,
    templates: CaptionTemplates | None = None,
    num_captions: int = 4,
    seed: int = 0,
) -> list[TextMotionClip]:
    """Encode ``motions`` and attach captions.

    With ``captions`` (clip id -> texts, e.g. :func:`~hf_motion.instructions.load_caption_file`)
    every clip must have one; otherwise ``num_captions`` captions per clip are written from its
    ``content``/``style`` labels with ``templates`` (seeded by ``seed`` and the clip's position).
    Clips longer than ``max_steps`` code steps are cut to their first ``max_steps``.
    """
    from ...evaluation.code_prediction import encode_clips

    if len(motions) != len(clip_ids):
        raise ValueError(f"{len(motions)} motions for {len(clip_ids)} clip ids")
    feats, codes = encode_clips(vq, vq_processor, motions)
    d = vq.config.downsample
    out = []
    for k, (m, cid, f, c) in enumerate(zip(motions, clip_ids, feats, codes)):
        labels = {h: str(v) for h, v in (m.labels or {}).items()}
        if captions is not None:
            if cid not in captions:
                raise KeyError(f"the caption file has no caption for clip {cid!r}; every clip needs at least one")
            texts = list(captions[cid])
        else:
            rng = np.random.default_rng([seed, k])
            texts = [caption_from_labels(labels, rng, templates) for _ in range(num_captions)]
        c = c[:max_steps]
        out.append(TextMotionClip(cid, c, f[: len(c) * d], labels, texts))
    return out


def split_points(steps: int) -> dict[str, int]:
    """Where a clip of ``steps`` code steps is cut: ``past`` (prediction: the first 20%) and
    ``start``/``stop`` of the masked middle (in-betweening: the first and last 25% kept). Each
    part has at least one step; clips under 3 steps have no cut (``{}``)."""
    if steps < 3:
        return {}
    past = min(max(1, int(round(0.2 * steps))), steps - 1)
    keep = max(1, int(round(0.25 * steps)))
    start, stop = keep, steps - keep
    if stop <= start:
        start, stop = 1, steps - 1
    return {"past": past, "start": start, "stop": stop}


def _values(clip: TextMotionClip, processor, rng: np.random.Generator, fps: float, downsample: int) -> dict[str, Any]:
    S = len(clip.codes)
    values: dict[str, Any] = {
        "caption": clip.captions[int(rng.integers(len(clip.captions)))],
        "motion": processor.codes_to_span(clip.codes),
        "seconds": f"{S * downsample / fps:g}",
        "frames": S * downsample,
    }
    cut = split_points(S)
    if cut:
        values["motion_past"] = processor.codes_to_span(clip.codes[: cut["past"]])
        values["motion_future"] = processor.codes_to_span(clip.codes[cut["past"] :])
        values["motion_masked"] = processor.masked_span(clip.codes, cut["start"], cut["stop"])
        values["motion_middle"] = processor.codes_to_span(clip.codes[cut["start"] : cut["stop"]])
    return values


def instruction_examples(
    clips: Sequence[TextMotionClip],
    tasks: Mapping[str, InstructionTask],
    task_names: Sequence[str],
    processor,
    *,
    fps: float,
    downsample: int,
    repeats: int = 1,
    random_phrasing: bool = True,
    seed: int = 0,
):
    """A ``datasets.Dataset`` (columns ``task``, ``input``, ``target``, ``clip_id``) with ``repeats``
    examples of every task per clip, shuffled. Phrasings are drawn at random (instruction tuning)
    or always the first (``random_phrasing=False``: plain pretraining pairs). Tasks whose fields a
    clip cannot fill (prediction on a clip under 3 steps) skip that clip."""
    from datasets import Dataset

    unknown = [t for t in task_names if t not in tasks]
    if unknown:
        raise KeyError(f"unknown tasks {unknown}; the task file defines {sorted(tasks)}")
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {"task": [], "input": [], "target": [], "clip_id": []}
    for _ in range(int(repeats)):
        for clip in clips:
            values = _values(clip, processor, rng, fps, downsample)
            for name in task_names:
                task = tasks[name]
                if not (task.input_fields | task.output_fields) <= set(values):
                    continue
                src, tgt = task.render(values, phrasing=None if random_phrasing else 0, rng=rng if random_phrasing else None)
                rows["task"].append(name)
                rows["input"].append(src)
                rows["target"].append(tgt)
                rows["clip_id"].append(clip.clip_id)
    if not rows["task"]:
        raise ValueError("no instruction example could be rendered: are the clips long enough (3 code steps)?")
    return Dataset.from_dict(rows).shuffle(seed=seed)


# --------------------------------------------------------------------------- evaluation
@dataclass
class TextMotionEvaluation:
    """Everything :func:`evaluate_text_motion` measured (see its docstring)."""

    text_to_motion: dict[str, dict[str, Any]] = field(default_factory=dict)
    motion_to_text: dict[str, dict[str, Any]] = field(default_factory=dict)
    prediction: dict[str, dict[str, float]] = field(default_factory=dict)
    inbetweening: dict[str, dict[str, float]] = field(default_factory=dict)
    num_clips: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        t2m = ["| text-to-motion | R-precision top-1 | top-2 | top-3 | FID | diversity | matching score |",
               "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for name, r in self.text_to_motion.items():
            fid = "-" if r["fid"] is None else f"{r['fid']:.2f}"
            t2m.append(f"| {name} | {r['r_precision_top1']:.3f} | {r['r_precision_top2']:.3f} | {r['r_precision_top3']:.3f} | "
                       f"{fid} | {r['diversity']:.2f} | {r['matching_score']:.2f} |")  # fmt: skip
        m2t = ["| motion-to-text | content word | style word | BLEU-4 | ROUGE-L |", "|---|---:|---:|---:|---:|"]
        for name, r in self.motion_to_text.items():
            m2t.append(f"| {name} | {r['content']:.3f} | {r['style']:.3f} | {r['bleu4']:.1f} | {r['rouge_l']:.1f} |")
        traj = ["| position error (mm) | ADE | middle frame | FDE (last frame) |", "|---|---:|---:|---:|"]
        for task, rows in (("prediction", self.prediction), ("in-betweening", self.inbetweening)):
            for name, r in rows.items():
                traj.append(f"| {task}: {name} | {r['ade']:.1f} | {r['mid']:.1f} | {r['fde']:.1f} |")
        return "\n".join(["\n".join(t2m), "\n".join(m2t), "\n".join(traj)])


def _mm(d: Mapping[str, float]) -> dict[str, float]:
    return {k: float(v) * 1000 for k, v in d.items() if k in ("ade", "fde", "mid")}


def evaluate_text_motion(
    model,
    processor,
    evaluator,
    test: Sequence[TextMotionClip],
    train: Sequence[TextMotionClip],
    tasks: Mapping[str, InstructionTask],
    *,
    templates: CaptionTemplates | None = None,
    batch_size: int = 32,
    temperature: float = 1.0,
    top_k: int | None = None,
    pool_size: int = 32,
    seed: int = 0,
) -> TextMotionEvaluation:
    """Score ``model`` on held-out ``test`` clips, with baselines from the same clips.

    * **text-to-motion**: one motion per clip from its first caption (``text_to_motion_seconds``
      phrasing 0, at the clip's duration), against the real clips (the ceiling) and "a random
      training clip with the same content label" (the retrieval baseline); R-precision in pools of
      ``pool_size`` captions, FID against the real clips and diversity, from ``evaluator``
      (:class:`~hf_motion.text_motion_metrics.TextMotionEvaluator`).
    * **motion-to-text**: the caption generated for each clip, parsed back to content and style
      labels (:func:`~hf_motion.instructions.parse_caption`), and BLEU-4 / ROUGE-L against its
      reference captions; the baseline captions every clip with the training set's most common
      content and style.
    * **prediction** (first 20% given) and **in-betweening** (first and last 25% given), on the
      position channel (body joints relative to the trajectory joint, heading frame). The model's
      decoded frames are anchored on the given frames (the codec's error on them is removed, as
      the baselines start from the true frames): prediction shifts by the last given frame's
      error, in-betweening blends the errors at both ends linearly. Baselines: zero-velocity and
      linear interpolation between the two known frames around the gap.
    """
    from ...evaluation.code_prediction import decode_codes_to_features
    from ...evaluation.text_motion_metrics import (
        ade_fde,
        caption_metrics,
        linear_interpolation,
        text_to_motion_metrics,
        zero_velocity,
    )
    from .generation_motion_t5 import generate_motion_codes, generate_text

    if not test or not train:
        raise ValueError(f"need held-out and training clips, got {len(test)} and {len(train)}")
    vq, layout = processor.motion_model, processor.motion_processor.layout
    fps, d = processor.motion_processor.fps, vq.config.downsample
    rng = np.random.default_rng(seed)
    result = TextMotionEvaluation(num_clips=len(test))
    captions = [c.captions[0] for c in test]
    real = [c.features for c in test]

    # text-to-motion
    prompts = [tasks["text_to_motion_seconds"].prompt({"caption": cap, "seconds": f"{len(c.codes) * d / fps:g}"})
               for cap, c in zip(captions, test)]  # fmt: skip
    codes = generate_motion_codes(model, processor, prompts, [len(c.codes) for c in test], batch_size=batch_size,
                                  temperature=temperature, top_k=top_k, seed=seed)  # fmt: skip
    generated = [decode_codes_to_features(vq, c) for c in codes]
    by_content: dict[str, list[TextMotionClip]] = {}
    for c in train:
        by_content.setdefault(c.labels.get("content", ""), []).append(c)
    retrieved = []
    for c in test:
        pool = by_content.get(c.labels.get("content", "")) or list(train)  # an unseen content: any clip
        retrieved.append(pool[int(rng.integers(len(pool)))].features)
    real_embeddings = evaluator.embed_motions(real)  # the FID reference, embedded once for the three rows
    for name, motions in (("real held-out (ceiling)", real), ("random training clip, same content", retrieved),
                          ("generated", generated)):  # fmt: skip
        result.text_to_motion[name] = text_to_motion_metrics(evaluator, motions, captions, real_embeddings=real_embeddings,
                                                             seed=seed, pool_size=pool_size).to_dict()  # fmt: skip

    # motion-to-text
    prompts = [tasks["motion_to_text"].prompt({"motion": processor.codes_to_span(c.codes)}) for c in test]
    texts = generate_text(model, processor, prompts, batch_size=batch_size)
    heads = ("content", "style")
    known = {h: sorted({c.labels[h] for c in train if h in c.labels}) for h in heads}
    majority = {h: max(known[h], key=[c.labels.get(h) for c in train].count) for h in heads if known[h]}
    majority_caption = caption_from_labels(majority, np.random.default_rng(seed), templates)
    refs = [c.captions for c in test]
    for name, preds in (("generated captions", texts), ("majority-class caption", [majority_caption] * len(test))):
        parsed = [parse_caption(t, templates, labels=known) for t in preds]
        row: dict[str, Any] = {h: float(np.mean([p[h] == c.labels.get(h) for p, c in zip(parsed, test)])) for h in heads}
        row.update(caption_metrics(preds, refs))
        result.motion_to_text[name] = row
    result.motion_to_text["generated captions"]["examples"] = texts[:8]

    # prediction and in-betweening
    cuts = [(c, split_points(len(c.codes))) for c in test]
    cuts = [(c, cut) for c, cut in cuts if cut]
    pred_prompts = [tasks["motion_prediction"].prompt({"motion_past": processor.codes_to_span(c.codes[: cut["past"]])})
                    for c, cut in cuts]  # fmt: skip
    future = generate_motion_codes(model, processor, pred_prompts, [len(c.codes) - cut["past"] for c, cut in cuts],
                                   batch_size=batch_size, greedy=True, seed=seed)  # fmt: skip
    mid_prompts = [tasks["inbetweening"].prompt({"motion_masked": processor.masked_span(c.codes, cut["start"], cut["stop"])})
                   for c, cut in cuts]  # fmt: skip
    middle = generate_motion_codes(model, processor, mid_prompts, [cut["stop"] - cut["start"] for c, cut in cuts],
                                   batch_size=batch_size, greedy=True, seed=seed)  # fmt: skip
    errs: dict[str, list] = {k: [] for k in ("pm", "pz", "im", "il")}
    for (c, cut), fut, mid in zip(cuts, future, middle):
        true = layout.positions(c.features)
        n_past, start, stop = cut["past"] * d, cut["start"] * d, cut["stop"] * d
        rec = layout.positions(decode_codes_to_features(vq, np.concatenate([c.codes[: cut["past"]], fut])))
        shift = true[n_past - 1] - rec[n_past - 1]
        errs["pm"].append((rec[n_past : len(true)] + shift, true[n_past:]))  # the last code step may pad the clip
        errs["pz"].append((zero_velocity(true[n_past - 1], len(true) - n_past), true[n_past:]))
        rec = layout.positions(decode_codes_to_features(vq, np.concatenate([c.codes[: cut["start"]], mid, c.codes[cut["stop"] :]])))
        a = (np.arange(1, stop - start + 1) / (stop - start + 1))[:, None, None]
        blend = (1 - a) * (true[start - 1] - rec[start - 1]) + a * (true[stop] - rec[stop])
        errs["im"].append((rec[start:stop] + blend, true[start:stop]))
        errs["il"].append((linear_interpolation(true[start - 1], true[stop], stop - start), true[start:stop]))
    if cuts:
        for key, table, name in (("pm", result.prediction, "instruction model"), ("pz", result.prediction, "zero-velocity"),
                                 ("im", result.inbetweening, "instruction model"),
                                 ("il", result.inbetweening, "linear interpolation")):  # fmt: skip
            preds, trues = zip(*errs[key])
            table[name] = _mm(ade_fde(list(preds), list(trues)))
    return result
