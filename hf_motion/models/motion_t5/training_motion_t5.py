"""Training data and evaluation of the text+motion model (MotionGPT on our stack).

* :func:`prepare_clips` turns clips into :class:`TextMotionClip` (VQ codes, pose features, labels
  and captions: from a caption file, or written from the labels by the caption templates).
* :func:`instruction_examples` renders the instruction tasks (:mod:`hf_motion.instructions`) over
  clips into a ``datasets.Dataset`` of ``task``, ``input`` and ``target`` texts.
* :func:`evaluate_text_motion` scores a trained model on held-out clips: text-to-motion
  (R-precision, FID, diversity against the real clips and a retrieval baseline), motion-to-text
  (BLEU, ROUGE-L, content and style words against the majority caption), and prediction and
  in-betweening (ADE, FDE and middle-frame error against zero-velocity and linear interpolation).
* :func:`train_text_motion` is the whole run (what ``hf-motion train-text-motion`` runs), with its
  arguments :class:`TextMotionDataArguments`, :class:`TextMotionModelArguments` and
  :class:`TextMotionTrainingArguments`; it returns a :class:`TextMotionRun`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from transformers import Seq2SeqTrainingArguments
from transformers.trainer_utils import SchedulerType

from ...instructions import CaptionTemplates, InstructionTask, caption_from_labels, parse_caption

__all__ = [
    "TextMotionClip",
    "prepare_clips",
    "split_points",
    "instruction_examples",
    "TextMotionEvaluation",
    "evaluate_text_motion",
    "TextMotionDataArguments",
    "TextMotionModelArguments",
    "TextMotionTrainingArguments",
    "TextMotionRun",
    "TextMotionRunError",
    "train_text_motion",
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


# ------------------------------------------------------------------ the whole run
class TextMotionRunError(ValueError):
    """Options the text-motion run cannot serve (the message says what to pass)."""


ALL_TASKS = "text_to_motion,text_to_motion_seconds,text_to_motion_frames,motion_to_text,motion_prediction,inbetweening,caption_to_duration"


@dataclass
class TextMotionDataArguments:
    vq_model: str = field(default="runs/vq", metadata={"help": "folder saved by recipes/train_vq.py"})
    captions: str | None = field(default=None, metadata={"help": "caption file (CSV clip,text or JSON); default: captions from labels"})
    caption_templates: str | None = field(default=None, metadata={"help": "caption template JSON (default: the package's)"})
    tasks_file: str | None = field(default=None, metadata={"help": "instruction task JSON (default: the package's)"})
    num_captions: int = field(default=4, metadata={"help": "captions written per clip from its labels"})
    max_steps_per_clip: int = field(default=32, metadata={"help": "longest motion in code steps (6.4 s at 20 fps, x4)"})
    pretrain_tasks: str = "text_to_motion,motion_to_text,motion_prediction"
    instruction_tasks: str = ALL_TASKS
    instruction_repeats: int = field(default=2, metadata={"help": "examples of every task per clip in stage 2"})
    max_clips: int | None = field(default=None, metadata={"help": "only the first N clips of each split (smoke runs)"})


@dataclass
class TextMotionModelArguments:
    base_model: str | None = field(
        default=None, metadata={"help": "Hub checkpoint (google/flan-t5-small); default: a small T5 from config"}
    )
    text_vocab_size: int = field(default=1000, metadata={"help": "vocabulary of the offline text tokenizer"})
    d_model: int = 128
    d_ff: int = 512
    num_layers: int = 3
    num_heads: int = 4
    motion_embeddings: str = field(
        default="codebook",
        metadata={"help": "'codebook' (code tokens start from the VQ-VAE's code vectors, projected) or 'random'"},
    )
    evaluator_steps: int = 1500
    temperature: float = 1.0
    top_k: int | None = None
    eval_batch_size: int = 32
    r_precision_pool: int = field(default=32, metadata={"help": "captions per R-precision pool (MotionGPT: 32)"})
    num_threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads (default: the idle cores per process, not accelerate's OMP_NUM_THREADS=1)"}
    )

    def __post_init__(self) -> None:
        if self.motion_embeddings not in ("codebook", "random"):
            raise ValueError(f"motion_embeddings must be 'codebook' or 'random', got {self.motion_embeddings!r}")


@dataclass
class TextMotionTrainingArguments(Seq2SeqTrainingArguments):
    """``Seq2SeqTrainingArguments`` with the text-motion run's defaults; ``max_steps`` is stage 2's."""

    output_dir: str | None = "runs/text-motion"
    pretrain_steps: int = field(default=1000, metadata={"help": "stage 1 optimisation steps"})
    max_steps: int = 1000
    per_device_train_batch_size: int = 32
    learning_rate: float = 1e-3
    lr_scheduler_type: SchedulerType | str = "cosine"
    warmup_steps: float = 100
    logging_steps: float = 100
    save_steps: float = 200
    save_total_limit: int | None = 1
    dataloader_drop_last: bool = True


def train_stage(model, tokenizer, dataset, targs, stage_dir: Path, steps: int):
    """One training stage in ``stage_dir``: resumes from its last checkpoint; a finished stage (its
    model saved in ``stage_dir/final``) is loaded instead of retrained."""
    from dataclasses import replace

    from transformers import AutoModelForSeq2SeqLM, DataCollatorForSeq2Seq, Seq2SeqTrainer
    from transformers.trainer_utils import get_last_checkpoint

    final = stage_dir / "final"
    if (final / "config.json").is_file():
        print(f"{stage_dir.name}: done, loading {final}")
        return AutoModelForSeq2SeqLM.from_pretrained(final)
    args = replace(targs, output_dir=str(stage_dir), max_steps=steps)
    last = get_last_checkpoint(str(stage_dir)) if stage_dir.is_dir() else None
    collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100)
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=dataset, data_collator=collator, processing_class=tokenizer)
    trainer.train(resume_from_checkpoint=last)
    if trainer.is_world_process_zero():
        trainer.save_model(str(final))
    return trainer.model


RELOAD_CHECK = """
import json, sys, torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1]); model = AutoModelForSeq2SeqLM.from_pretrained(sys.argv[1]).eval()
ids = tok(sys.argv[2], return_tensors="pt").input_ids
greedy = model.generate(ids, max_new_tokens=24, do_sample=False)
torch.manual_seed(0); sampled = model.generate(ids, max_new_tokens=24, do_sample=True, top_k=0)
print(json.dumps({"greedy": greedy[0].tolist(), "sampled": sampled[0].tolist()}))
"""


@dataclass
class TextMotionRun:
    """What :func:`train_text_motion` returns (``summary`` is ``text_motion_summary.json``)."""

    model: Any
    processor: Any  # TextMotionProcessor
    evaluation: Any  # TextMotionEvaluation on the held-out clips
    table: str  # its markdown
    reload_identical: bool  # a fresh process with plain transformers generates the same ids
    summary: dict[str, Any]
    output_dir: Path


def train_text_motion(data: TextMotionDataArguments, margs: TextMotionModelArguments, targs: TextMotionTrainingArguments) -> TextMotionRun:
    """The whole text-motion run (what ``hf-motion train-text-motion`` runs): clips and captions,
    the merged vocabulary and the T5, both training stages (each resumes), the evaluator, the
    held-out evaluation, the fresh-process reload check and the text-to-motion GIF, all written
    into ``targs.output_dir``. Threads and seeding are the caller's (the script sets both). A
    missing tokenizer run raises ``FileNotFoundError``; a causal base model :class:`TextMotionRunError`."""
    import subprocess
    import sys
    import time

    import torch

    from ...evaluation.text_motion_metrics import train_text_motion_evaluator
    from ...fileio import atomic_write_text
    from ...instructions import load_caption_file, load_caption_templates, load_tasks
    from ...render import render_side_by_side
    from ..motion_vq.training_motion_vq import load_motions, load_tokenizer_run
    from . import (
        TextMotionProcessor,
        build_text_motion_model,
        check_embedding_tying,
        init_motion_embeddings_from_codebook,
        is_seq2seq,
        merge_motion_vocabulary,
        motion_vocabulary_tokens,
        train_text_tokenizer,
    )  # fmt: skip
    from .card_motion_t5 import text_motion_model_card

    t0 = time.perf_counter()
    vq_dir, out = Path(data.vq_model), Path(targs.output_dir)
    vq, vq_processor, vq_summary, split = load_tokenizer_run(vq_dir)  # FileNotFoundError: says which run to make first
    templates = load_caption_templates(data.caption_templates)
    tasks = load_tasks(data.tasks_file)
    captions = load_caption_file(data.captions) if data.captions else None
    S, d, fps = data.max_steps_per_clip, vq.config.downsample, vq_processor.fps
    clips = {}
    for part in ("train", "test"):
        chosen = split[part][: data.max_clips]
        motions = load_motions(chosen, fps, desc=f"{part} clips")
        clips[part] = prepare_clips(vq, vq_processor, motions, [c.clip_id for c in chosen], max_steps=S, captions=captions,
                                    templates=templates, num_captions=data.num_captions, seed=targs.seed)  # fmt: skip
    print(f"clips: train {len(clips['train'])}, test {len(clips['test'])}; data ready in {time.perf_counter() - t0:.0f} s")

    # Vocabulary and model: the text tokenizer learns the captions and the task phrasings.
    if margs.base_model is None:
        texts = [t for c in clips["train"] for t in c.captions] + [p for task in tasks.values() for p in task.inputs + task.outputs]
        text_tokenizer = train_text_tokenizer(texts, vocab_size=margs.text_vocab_size)
    else:
        from transformers import AutoTokenizer

        text_tokenizer = AutoTokenizer.from_pretrained(margs.base_model)
    n_text = len(text_tokenizer)  # before the merge, which adds to this tokenizer
    tokenizer = merge_motion_vocabulary(text_tokenizer, motion_vocabulary_tokens(vq_processor))
    processor = TextMotionProcessor(tokenizer, vq_processor, vq, max_motion_steps=S)
    sizes = (
        {}
        if margs.base_model
        else dict(
            d_model=margs.d_model,
            d_ff=margs.d_ff,
            num_layers=margs.num_layers,
            num_decoder_layers=margs.num_layers,
            num_heads=margs.num_heads,
        )
    )  # the Hub model fixes them
    model = build_text_motion_model(tokenizer, base_model=margs.base_model, **sizes)
    if not is_seq2seq(model):
        raise TextMotionRunError(f"{margs.base_model} is a causal model; this recipe trains seq2seq models (T5) with Seq2SeqTrainer. "
                         "GPT-2 models build with build_text_motion_model and tokenize with TextMotionProcessor(causal=True), "
                         "but their training loop is not written yet")  # fmt: skip
    if margs.motion_embeddings == "codebook":
        init_motion_embeddings_from_codebook(model, tokenizer, vq, seed=targs.seed)
    check_embedding_tying(model, tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: T5 {n_params / 1e6:.1f}M parameters, vocabulary {len(tokenizer)} ({n_text} text)")

    def tokenized(ds):
        def encode(batch):
            return tokenizer(batch["input"], text_target=batch["target"])

        return ds.map(encode, batched=True, remove_columns=ds.column_names)

    stage_data = {
        "stage1-pretrain": instruction_examples(clips["train"], tasks, data.pretrain_tasks.split(","), processor, fps=fps,
                                                downsample=d, random_phrasing=False, seed=targs.seed),
        "stage2-instruct": instruction_examples(clips["train"], tasks, data.instruction_tasks.split(","), processor, fps=fps,
                                                downsample=d, repeats=data.instruction_repeats, seed=targs.seed + 1),
    }  # fmt: skip
    times = {}
    for stage, steps in (("stage1-pretrain", targs.pretrain_steps), ("stage2-instruct", targs.max_steps)):
        t = time.perf_counter()
        print(f"{stage}: {len(stage_data[stage])} examples, {steps} steps")
        model = train_stage(model, tokenizer, tokenized(stage_data[stage]), targs, out / stage, steps)
        times[stage] = (time.perf_counter() - t) / 60
    model = model.cpu().eval()
    check_embedding_tying(model, tokenizer)
    model.save_pretrained(out)
    processor.save_pretrained(out)

    t = time.perf_counter()
    evaluator = train_text_motion_evaluator([c.features for c in clips["train"]], [c.captions for c in clips["train"]],
                                            steps=margs.evaluator_steps, seed=targs.seed)  # fmt: skip
    evaluator.save_pretrained(out / "evaluator")
    times["evaluator"] = (time.perf_counter() - t) / 60
    t = time.perf_counter()
    evaluation = evaluate_text_motion(model, processor, evaluator, clips["test"], clips["train"], tasks, templates=templates,
                                      batch_size=margs.eval_batch_size, temperature=margs.temperature, top_k=margs.top_k,
                                      pool_size=margs.r_precision_pool, seed=targs.seed)  # fmt: skip
    times["evaluation"] = (time.perf_counter() - t) / 60

    # Reload in a fresh process with plain transformers: the same ids, greedy and sampled.
    prompt = tasks["motion_to_text"].prompt({"motion": processor.codes_to_span(clips["test"][0].codes)})
    fresh = json.loads(subprocess.run([sys.executable, "-c", RELOAD_CHECK, str(out), prompt], check=True,
                                      capture_output=True, text=True).stdout.strip().splitlines()[-1])  # fmt: skip
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        here = {"greedy": model.generate(ids, max_new_tokens=24, do_sample=False)[0].tolist()}
        torch.manual_seed(0)
        here["sampled"] = model.generate(ids, max_new_tokens=24, do_sample=True, top_k=0)[0].tolist()
    reload_ok = fresh == here

    # A text-to-motion result beside a real clip of the same caption.
    from hf_motion.models.motion_t5.generation_motion_t5 import text_to_motion

    clip = clips["test"][0]
    seconds = len(clip.codes) * d / fps
    generated = text_to_motion(model, processor, clip.captions[0], seconds=seconds, seed=targs.seed)
    real = vq_processor.layout.decode(clip.features, fps)
    gif = out / "text_to_motion.gif"
    render_side_by_side([real, generated], ["real", "generated"], gif_path=gif, png_path=gif.with_suffix(".png"),
                        title=clip.captions[0])  # fmt: skip

    table = evaluation.to_markdown()
    summary = {
        "evaluation": evaluation.to_dict(), "reload_identical": reload_ok, "minutes": times,
        "total_minutes": (time.perf_counter() - t0) / 60, "parameters": n_params, "vocabulary": len(tokenizer),
        "text_vocabulary": n_text, "fps": f"{fps:g}", "sources": list(vq_summary["sources"]),
        "clips": {k: len(v) for k, v in clips.items()}, "gif": str(gif),
        "machine": f"{torch.get_num_threads()} CPU threads" if not torch.cuda.is_available() else torch.cuda.get_device_name(),
        "settings": {"data": asdict(data), "model": asdict(margs), "pretrain_steps": targs.pretrain_steps, "max_steps": targs.max_steps},
    }  # fmt: skip
    atomic_write_text(out / "text_motion_summary.json", json.dumps(summary, indent=2, default=str))
    atomic_write_text(out / "evaluation.md", table + "\n")
    atomic_write_text(out / "README.md", str(text_motion_model_card(summary, table)))
    return TextMotionRun(model, processor, evaluation, table, reload_ok, summary, out)
