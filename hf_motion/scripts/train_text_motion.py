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

from hf_motion.models.motion_t5.training_motion_t5 import (
    TextMotionDataArguments,
    TextMotionModelArguments,
    TextMotionRunError,
    TextMotionTrainingArguments,
    train_text_motion,
)


def make_parser():
    from hf_motion.recipe_args import MotionArgumentParser

    return MotionArgumentParser(
        (TextMotionDataArguments, TextMotionModelArguments, TextMotionTrainingArguments),
        prog="hf-motion train-text-motion",
        description="text and motion in one T5 model: caption pretraining, then instruction tuning",
    )


def main(data: TextMotionDataArguments, margs: TextMotionModelArguments, targs: TextMotionTrainingArguments) -> dict:
    from transformers import set_seed

    from hf_motion.training import set_cpu_threads

    set_cpu_threads(margs.num_threads)
    set_seed(targs.seed)
    try:
        run = train_text_motion(data, margs, targs)
    except (FileNotFoundError, TextMotionRunError) as exc:
        raise SystemExit(str(exc)) from None
    evaluation, table, reload_ok, summary = run.evaluation, run.table, run.reload_identical, run.summary
    t2m, m2t = evaluation.text_to_motion, evaluation.motion_to_text
    gen, real_row, retr = t2m["generated"], t2m["real held-out (ceiling)"], t2m["random training clip, same content"]
    times, gif = summary["minutes"], summary["gif"]
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
