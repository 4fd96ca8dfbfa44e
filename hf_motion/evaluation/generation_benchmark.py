"""The PoseGPT generation benchmark: code GPTs over a learned tokenizer's codes, trained and scored
in one run (what ``hf-motion train-generator`` and ``recipes/train_generator.py`` run).

With the tokenizer's own group split (recorded in ``vq_summary.json``), :func:`run_generation_benchmark`

1. trains a motion evaluator (content and style classifier) on the real training clips;
2. trains a GPT over the training clips' codes conditioned on content (action), style and
   duration, and an unconditioned GPT with the same settings (every condition replaced by null);
3. generates one motion per held-out clip (its content, style and duration) with each GPT and
   scores FID, diversity, multimodality and recognition accuracy against the real held-out clips,
   with the real-against-real floor (two halves of the held-out clips) and the clips through the
   tokenizer (what any generator over these codes can reach);
4. prompts the conditioned GPT (conditions null) with held-out past and scores the next 400 ms
   against zero- and constant-velocity;
5. renders one PNG strip per content for a few conditions.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GenerationBenchmarkError", "GenerationBenchmarkResult", "GeneratorArguments", "run_generation_benchmark"]


class GenerationBenchmarkError(ValueError):
    """Options that this tokenizer run cannot serve (the message says what to pass)."""


@dataclass
class GeneratorArguments:
    vq_model: str = field(default="runs/vq", metadata={"help": "folder saved by recipes/train_vq.py"})
    output_dir: str = field(default="runs/posegpt")
    max_steps_per_clip: int = field(default=32, metadata={"help": "longest sequence in code steps (crops longer clips)"})
    gpt_steps: int = field(default=2000, metadata={"help": "optimisation steps of each GPT"})
    gpt_layers: int = 3
    gpt_width: int = 128
    batch_size: int = 32
    learning_rate: float = 5e-4
    condition_dropout: float = 0.1
    header_dropout: float = field(default=0.1, metadata={"help": "probability of an all-null header (guidance's unconditional branch)"})
    guidance_scales: str = field(
        default="1,1.5,2,3", metadata={"help": "classifier-free guidance scales tried on validation clips; 1: none"}
    )
    guidance_conditions: str = field(
        default="action+style+duration,style",
        metadata={"help": "the condition sets that guidance strengthens, comma-separated, conditions joined by '+'; each is tried at "
                          "every scale other than 1 ('style': the unconditional branch keeps content and duration, so guidance sharpens "
                          "style alone)"},
    )  # fmt: skip
    guidance_clips: int = field(default=96, metadata={"help": "validation clips that choose the guidance scale and conditions"})
    evaluator_steps: int = 1500
    evaluator_crop: int = 40
    temperature: float = 1.0
    top_k: int | None = None
    past_seconds: float = 2.0
    render_conditions: int = 4
    seed: int = 0
    max_clips: int | None = field(default=None, metadata={"help": "only the first N clips of each split (smoke runs)"})
    num_threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads (default: the idle cores per process, not accelerate's OMP_NUM_THREADS=1)"}
    )


@dataclass
class GenerationBenchmarkResult:
    """What :func:`run_generation_benchmark` returns (``summary`` is ``generator_summary.json``)."""

    table: str  # markdown: every row below
    conditioned: Any  # GenerationScores of the conditioned GPT (chosen guidance scale)
    unconditioned: Any
    real: Any  # the real held-out clips (ceiling)
    floor: Any  # real against real, two halves
    codec: Any  # the held-out clips through the tokenizer
    guidance_scale: float
    guidance_conditions: tuple[str, ...]  # what the chosen guidance strengthens (all three when the scale is 1)
    prediction: Any  # CodePredictionResult
    strips: list[str]
    summary: dict[str, Any]
    output_dir: Path


def run_generation_benchmark(args: GeneratorArguments) -> GenerationBenchmarkResult:
    """Train the evaluator and both GPTs, score them and write the run into ``args.output_dir``
    (see the module). Thread count is the caller's (the script sets it). A missing tokenizer run
    raises ``FileNotFoundError``, options it cannot serve :class:`GenerationBenchmarkError`."""

    from ..fileio import atomic_write_text
    from ..models.motion_code_gpt.modeling_motion_code_gpt import MotionCodeGPTConfig, generate_codes, train_code_gpt
    from ..models.motion_vq.training_motion_vq import load_motions, load_tokenizer_run
    from ..render import render_motion
    from .code_prediction import decode_codes_to_features, encode_clips, predict_with_codes
    from .generation_metrics import evaluate_generation, real_floor, train_evaluator

    t0 = time.perf_counter()
    vq_dir, out = Path(args.vq_model), Path(args.output_dir)
    vq, processor, vq_summary, split = load_tokenizer_run(vq_dir)  # FileNotFoundError: says which run to make first
    candidates = guidance_candidates(args.guidance_scales, args.guidance_conditions)
    if len(candidates) > 1 and not split.get("validation"):
        raise GenerationBenchmarkError(f"guidance_scales={args.guidance_scales} with guidance_conditions={args.guidance_conditions} needs "
                         f"validation clips to choose from, and the tokenizer's split {vq_summary['splits']} has none; pass one scale "
                         "(--guidance_scales 1)")  # fmt: skip
    clips = {k: split.get(k, [])[: args.max_clips] for k in ("train", "validation", "test")}
    motions = {k: load_motions(v, processor.fps, desc=f"{k} clips") for k, v in clips.items()}
    labels = {k: {h: [str(m.labels[h]) for m in ms] for h in ("content", "style")} for k, ms in motions.items()}
    contents, styles = sorted(set(labels["train"]["content"])), sorted(set(labels["train"]["style"]))
    for part in ("validation", "test"):  # the evaluator and the GPT only know the training labels
        known = [i for i, (c, s) in enumerate(zip(labels[part]["content"], labels[part]["style"])) if c in contents and s in styles]
        if len(known) < len(motions[part]):
            print(f"{part}: {len(motions[part]) - len(known)} clips dropped, their content or style is not in the training split")
            motions[part] = [motions[part][i] for i in known]
            labels[part] = {h: [v[i] for i in known] for h, v in labels[part].items()}
    motions["validation"] = motions["validation"][: args.guidance_clips]
    labels["validation"] = {h: v[: args.guidance_clips] for h, v in labels["validation"].items()}
    (feats_tr, codes_tr), (feats_va, codes_va), (feats_te, codes_te) = (
        encode_clips(vq, processor, motions[k]) if motions[k] else ([], []) for k in ("train", "validation", "test"))  # fmt: skip

    print(f"evaluator: {len(feats_tr)} training clips, {len(contents)} contents, {len(styles)} styles")
    evaluator = train_evaluator(feats_tr, labels["train"], steps=args.evaluator_steps, crop=args.evaluator_crop, seed=args.seed)
    evaluator.save_pretrained(out / "evaluator")
    S = args.max_steps_per_clip
    d = vq.config.downsample
    real_te = [f[: S * d] for f in feats_te]  # the lengths the generators can produce
    reference = evaluator.embed(real_te)
    floor = real_floor(evaluator, real_te, labels["test"], seed=args.seed)
    real = evaluate_generation(evaluator, real_te, labels["test"], reference_embeddings=reference, seed=args.seed)
    # The held-out clips through the tokenizer: what any generator over these codes can reach at best.
    codec_te = [decode_codes_to_features(vq, c[:S])[: len(f)] for c, f in zip(codes_te, real_te)]
    codec = evaluate_generation(evaluator, codec_te, labels["test"], reference_embeddings=reference, seed=args.seed)

    config_kw = dict(codebook_size=vq.config.codebook_size, tokens_per_step=vq.config.tokens_per_step, action_labels=contents,
                     style_labels=styles, max_steps=S, n_layer=args.gpt_layers, n_embd=args.gpt_width, n_head=4,
                     n_positions=4 + S * vq.config.tokens_per_step + 1, attn_pdrop=0.0)  # fmt: skip

    def generate(gpt, part, codes_part, cond, scale, guide=GUIDED_CONDITIONS):
        gen, gen_codes = [], []
        for k, (c, s, real_codes) in enumerate(zip(labels[part]["content"], labels[part]["style"], codes_part)):
            codes = generate_codes(gpt, action=c if cond else None, style=s if cond else None, steps=min(len(real_codes), S),
                                   duration=cond, temperature=args.temperature, top_k=args.top_k, guidance_scale=scale,
                                   guide=guide, seed=args.seed + k)[0]  # fmt: skip
            gen.append(decode_codes_to_features(vq, codes))
            gen_codes.append(codes)
        return gen, gen_codes

    gpts, rows, times, guidance, real_va = {}, {}, {}, {}, None
    for name, dropout in (("conditioned", args.condition_dropout), ("unconditioned", 1.0)):
        t = time.perf_counter()
        cond = name == "conditioned"
        gpt = train_code_gpt(codes_tr, labels["train"]["content"], labels["train"]["style"], MotionCodeGPTConfig(**config_kw),
                             steps=args.gpt_steps, batch_size=args.batch_size, lr=args.learning_rate, condition_dropout=dropout,
                             header_dropout=args.header_dropout if cond else 0.0, crop_steps=S, seed=args.seed)  # fmt: skip
        gpt.save_pretrained(out / f"gpt-{name}")
        scale, guided = 1.0, GUIDED_CONDITIONS
        if cond and len(candidates) == 1:
            scale, guided = candidates[0]
        elif cond:  # chosen on validation clips; the test clips stay unseen
            clips_va = [f[: S * d] for f in feats_va]
            ref_va = evaluator.embed(clips_va)
            real_va = evaluate_generation(evaluator, clips_va, labels["validation"], reference_embeddings=ref_va, seed=args.seed)
            print("validation, real clips: " + ", ".join(f"{h} {a:.3f}" for h, a in real_va.accuracy.items()))
            for g, conditions in candidates:
                r = evaluate_generation(evaluator, generate(gpt, "validation", codes_va, True, g, conditions)[0], labels["validation"],
                                        reference_embeddings=ref_va, seed=args.seed)  # fmt: skip
                guidance[(g, conditions)] = r
                print(f"validation, {guidance_name(g, conditions)}: FID {r.fid:.2f}, "
                      + ", ".join(f"{h} {a:.3f}" for h, a in r.accuracy.items()))  # fmt: skip
            scale, guided = choose_guidance({k: r.accuracy for k, r in guidance.items()}, real_va.accuracy)
            print(f"{guidance_name(scale, guided)} (smallest worst-head shortfall from real on {len(clips_va)} validation clips)")
        if cond:
            guidance_scale, guide = scale, guided
        gen, gen_codes = generate(gpt, "test", codes_te, cond, scale, guided)
        rows[name] = evaluate_generation(evaluator, gen, labels["test"], reference_embeddings=reference, seed=args.seed)
        gpts[name], times[name] = (gpt, gen, gen_codes), time.perf_counter() - t
        print(f"{name} GPT: {times[name] / 60:.1f} min")

    prediction = predict_with_codes(vq, processor, gpts["conditioned"][0], motions["test"], past_seconds=args.past_seconds)
    strips = []
    gen_cond = gpts["conditioned"][1]
    shown = set()
    for k, c in enumerate(labels["test"]["content"]):
        if c in shown or len(shown) >= args.render_conditions:
            continue
        shown.add(c)
        s = labels["test"]["style"][k]
        path = out / f"generated_{c}_{s}.png".replace(" ", "-")
        render_motion(processor.layout.decode(gen_cond[k], processor.fps), png_path=path, title=f"generated: {c}, {s}")
        # The codes too, for `hf-motion render FILE.txt --vq-model VQ_FOLDER`.
        atomic_write_text(path.with_suffix(".txt"), processor.codes_to_text(gpts["conditioned"][2][k]) + "\n")
        strips.append(str(path))

    heads = list(real.accuracy)
    table = ["| motions | FID | diversity | multimodality | " + " | ".join(f"{h} accuracy" for h in heads) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(heads)]  # fmt: skip
    for name, r in (("real held-out (ceiling)", real), ("real vs real, two halves (floor)", floor),
                    ("real held-out through the VQ-VAE", codec),
                    (f"conditioned GPT ({guidance_name(guidance_scale, guide)})", rows["conditioned"]), ("unconditioned GPT", rows["unconditioned"])):  # fmt: skip
        mm = "-" if r.multimodality is None else f"{r.multimodality:.2f}"
        table.append(f"| {name} | {r.fid:.2f} | {r.diversity:.2f} | {mm} | " + " | ".join(f"{r.accuracy[h]:.3f}" for h in heads) + " |")
    table = "\n".join(table)
    summary = {
        "generation": {k: v.to_dict() for k, v in (("real", real), ("floor", floor), ("codec", codec), *rows.items())},
        "guidance": {"scale": guidance_scale, "conditions": list(guide),
                     "validation": {guidance_name(*k): r.to_dict() for k, r in guidance.items()},
                     "real_validation": None if real_va is None else real_va.to_dict()},
        "prediction": prediction.to_dict(), "strips": strips, "gpt_minutes": {k: v / 60 for k, v in times.items()},
        "clips": {k: len(v) for k, v in motions.items()}, "total_minutes": (time.perf_counter() - t0) / 60,
    }  # fmt: skip
    atomic_write_text(out / "generator_summary.json", json.dumps(summary, indent=2))
    atomic_write_text(out / "generation.md", table + "\n\n" + prediction.to_markdown() + "\n")
    return GenerationBenchmarkResult(table, rows["conditioned"], rows["unconditioned"], real, floor, codec, guidance_scale, guide,
                                     prediction, strips, summary, out)  # fmt: skip


GUIDED_CONDITIONS = ("action", "style", "duration")


def guidance_candidates(scales: str, conditions: str) -> list[tuple[float, tuple[str, ...]]]:
    """``(scale, guided conditions)`` pairs that the benchmark tries, from the two comma-separated options: each condition
    set at each scale other than 1, and scale 1 (no guidance) once. Raises :class:`GenerationBenchmarkError` on a bad value."""
    try:
        values = [float(x) for x in scales.split(",")]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise GenerationBenchmarkError(f"guidance_scales={scales!r}: pass comma-separated numbers >= 0 (1: no guidance), e.g. 1,1.5,2")
    sets = []
    for part in conditions.split(","):
        names = tuple(n.strip() for n in part.split("+") if n.strip())
        if not names or not set(names) <= set(GUIDED_CONDITIONS) or len(set(names)) < len(names):
            raise GenerationBenchmarkError(f"guidance_conditions={conditions!r}: {part!r} is not a '+'-joined set of "
                                           f"{', '.join(GUIDED_CONDITIONS)} (e.g. action+style+duration,style)")  # fmt: skip
        sets.append(tuple(n for n in GUIDED_CONDITIONS if n in names))
    out = []
    for v in values:
        for guided in sets if v != 1.0 else [GUIDED_CONDITIONS]:
            if (v, guided) not in out:
                out.append((v, guided))
    return out


def guidance_name(scale: float, conditions: tuple[str, ...]) -> str:
    """How a run names a guidance setting: ``"guidance 1"`` (none), ``"guidance 2 on style"``."""
    return f"guidance {scale:g}" if scale == 1.0 else f"guidance {scale:g} on {'+'.join(conditions)}"


def choose_guidance(accuracy: dict[Any, dict[str, float]], real: dict[str, float]) -> Any:
    """The key of ``accuracy`` (recognition per head of each tried guidance) whose worst head falls least short of the real
    clips' ``real`` accuracy, which is what the generation target measures; ties go to the higher mean recognition."""

    def rank(key):
        acc = accuracy[key]
        return max(real[h] - acc[h] for h in real), -sum(acc.values()) / len(acc)

    return min(accuracy, key=rank)
