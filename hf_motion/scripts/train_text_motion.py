"""Text and motion in one model (MotionGPT on our stack): a T5 whose vocabulary is a text vocabulary
plus the learned motion codes, pretrained on caption-motion pairs, then instruction-tuned.

    python recipes/train_vq.py                                   # first: the motion tokenizer (runs/vq)
    accelerate launch --num_cpu_threads_per_process 2 recipes/train_text_motion.py   # Bandai-Namco, captions from labels
    accelerate launch recipes/train_text_motion.py --captions my_captions.csv   # your own captions (clip,text)

1. Loads the tokenizer's clips with its own group split, encodes them to codes, and captions them
   (a caption file, or ``hf_motion/assets/caption_templates.json`` over the content/style labels).
2. Trains a text tokenizer on the captions and task phrasings (``tokenizers``, offline) and merges
   the motion vocabulary into it; builds a small T5 from config (or ``--base_model`` from the Hub).
3. Stage 1 (pretraining): text-to-motion, motion-to-text and prediction, first phrasing only.
   Stage 2 (instruction tuning): every task of ``hf_motion/assets/text_motion_tasks.json``, random
   phrasings. Both with ``Seq2SeqTrainer``; a rerun with the same ``output_dir`` resumes exactly.
4. Trains a contrastive text-motion evaluator on the training clips and scores the model on the
   held-out clips (see :func:`hf_motion.models.motion_t5.training_motion_t5.evaluate_text_motion`); checks that the
   saved model reloads with ``AutoModelForSeq2SeqLM``/``AutoTokenizer`` in a fresh process and
   generates the same ids; renders a text-to-motion GIF beside a real clip of the same caption.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers import Seq2SeqTrainingArguments
from transformers.trainer_utils import SchedulerType

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
    evaluator_steps: int = 1500
    temperature: float = 1.0
    top_k: int | None = None
    eval_batch_size: int = 32
    r_precision_pool: int = field(default=32, metadata={"help": "captions per R-precision pool (MotionGPT: 32)"})
    num_threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads (default: the idle cores per process, not accelerate's OMP_NUM_THREADS=1)"}
    )


@dataclass
class TextMotionTrainingArguments(Seq2SeqTrainingArguments):
    """``Seq2SeqTrainingArguments`` with this recipe's defaults; ``max_steps`` is stage 2's."""

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


def make_parser():
    from hf_motion.recipe_args import MotionArgumentParser

    return MotionArgumentParser(
        (TextMotionDataArguments, TextMotionModelArguments, TextMotionTrainingArguments),
        prog="hf-motion train-text-motion",
        description="text and motion in one T5 model: caption pretraining, then instruction tuning",
    )


def main(data: TextMotionDataArguments, margs: TextMotionModelArguments, targs: TextMotionTrainingArguments) -> dict:
    import torch
    from transformers import set_seed

    from hf_motion.evaluation.text_motion_metrics import train_text_motion_evaluator
    from hf_motion.fileio import atomic_write_text
    from hf_motion.instructions import load_caption_file, load_caption_templates, load_tasks
    from hf_motion.models.motion_t5 import (
        TextMotionProcessor,
        build_text_motion_model,
        check_embedding_tying,
        is_seq2seq,
        merge_motion_vocabulary,
        motion_vocabulary_tokens,
        train_text_tokenizer,
    )  # fmt: skip
    from hf_motion.models.motion_t5.card_motion_t5 import text_motion_model_card
    from hf_motion.models.motion_t5.training_motion_t5 import evaluate_text_motion, instruction_examples, prepare_clips
    from hf_motion.models.motion_vq.training_motion_vq import load_motions, load_tokenizer_run
    from hf_motion.render import render_side_by_side
    from hf_motion.training import set_cpu_threads

    set_cpu_threads(margs.num_threads)
    set_seed(targs.seed)
    t0 = time.perf_counter()
    vq_dir, out = Path(data.vq_model), Path(targs.output_dir)
    try:
        vq, vq_processor, vq_summary, split = load_tokenizer_run(vq_dir)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None
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
        raise SystemExit(f"{margs.base_model} is a causal model; this recipe trains seq2seq models (T5) with Seq2SeqTrainer. "
                         "GPT-2 models build with build_text_motion_model and tokenize with TextMotionProcessor(causal=True), "
                         "but their training loop is not written yet")  # fmt: skip
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
    t2m, m2t = evaluation.text_to_motion, evaluation.motion_to_text
    gen, real_row, retr = t2m["generated"], t2m["real held-out (ceiling)"], t2m["random training clip, same content"]
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
    print("\n" + table + "\n")
    print("generated captions (first held-out clips):\n  " + "\n  ".join(m2t["generated captions"]["examples"][:4]))
    chance = 3 / margs.r_precision_pool
    p, i = evaluation.prediction, evaluation.inbetweening
    print(f"must-hold: text-to-motion R-precision top-3 {gen['r_precision_top3']:.3f} >= 2 x chance {2 * chance:.3f}: {gen['r_precision_top3'] >= 2 * chance} "
          f"(real {real_row['r_precision_top3']:.3f}, same-content retrieval {retr['r_precision_top3']:.3f}; beats retrieval: {gen['r_precision_top3'] > retr['r_precision_top3']})")  # fmt: skip
    g, maj = m2t["generated captions"], m2t["majority-class caption"]
    print(f"must-hold: motion-to-text content word {g['content']:.3f} > 0.5 and > majority caption {maj['content']:.3f}: "
          f"{g['content'] > 0.5 and g['content'] > maj['content']}")  # fmt: skip
    if p and i:
        pm, pz, im, il = p["instruction model"], p["zero-velocity"], i["instruction model"], i["linear interpolation"]
        print(f"must-hold: prediction beats zero-velocity at the middle ({pm['mid']:.1f} vs {pz['mid']:.1f} mm) and last frame "
              f"({pm['fde']:.1f} vs {pz['fde']:.1f} mm): {pm['mid'] < pz['mid'] and pm['fde'] < pz['fde']}; in-betweening beats "
              f"linear interpolation at the middle ({im['mid']:.1f} vs {il['mid']:.1f} mm) and last frame ({im['fde']:.1f} vs "
              f"{il['fde']:.1f} mm): {im['mid'] < il['mid'] and im['fde'] < il['fde']}")  # fmt: skip
    print(f"must-hold: reloads with AutoModelForSeq2SeqLM + AutoTokenizer in a fresh process, identical ids: {reload_ok}")
    print(f"total {summary['total_minutes']:.1f} min ({', '.join(f'{k} {v:.1f}' for k, v in times.items())}); {gif}")
    return summary


def cli(argv=None) -> dict:
    """Parse ``argv`` (default: the command line; ``--config FILE.yaml`` supplies defaults) and run."""
    return main(*make_parser().parse(argv))


if __name__ == "__main__":
    cli()
