"""PoseGPT-style generation over learned motion codes, and its evaluation, in one run.

    python recipes/train_vq.py                 # first: the tokenizer (runs/vq)
    python recipes/train_generator.py          # then: evaluator, conditioned and unconditioned GPTs

With the tokenizer's own group split (recorded in ``vq_summary.json``) it runs
:func:`hf_motion.evaluation.generation_benchmark.run_generation_benchmark`, which
1. trains a motion evaluator (content and style classifier) on the real training clips;
2. trains a GPT over the training clips' codes conditioned on content (action), style and
   duration, and an unconditioned GPT with the same settings (every condition replaced by null);
3. generates one motion per held-out clip (its content, style and duration) with each GPT and
   prints FID, diversity, multimodality and recognition accuracy against the real held-out clips,
   with the real-against-real floor (two halves of the held-out clips);
4. prompts the conditioned GPT (conditions null) with 2 s of held-out past and scores the next
   400 ms against zero- and constant-velocity;
5. renders one PNG strip per content for a few conditions.
"""

from __future__ import annotations

import time

from hf_motion.evaluation.generation_benchmark import GenerationBenchmarkError, GeneratorArguments, run_generation_benchmark


def make_parser():
    from hf_motion.recipe_args import MotionArgumentParser

    return MotionArgumentParser(
        (GeneratorArguments,),
        prog="hf-motion train-generator",
        description="PoseGPT-style generation over learned motion codes, and its evaluation",
    )


def main(args: GeneratorArguments) -> dict:
    from hf_motion.training import set_cpu_threads

    set_cpu_threads(args.num_threads)
    t0 = time.perf_counter()
    try:
        run = run_generation_benchmark(args)
    except (FileNotFoundError, GenerationBenchmarkError) as exc:
        raise SystemExit(str(exc)) from None
    real, cond, unc, prediction = run.real, run.conditioned, run.unconditioned, run.prediction
    heads = list(real.accuracy)
    gaps = {h: real.accuracy[h] - cond.accuracy[h] for h in heads}
    table, strips = run.table, run.strips
    print("\n" + table + "\n")
    print(prediction.to_markdown() + f"\n({prediction.num_windows} held-out windows, {prediction.past_seconds:g} s of past)\n")
    print("must-hold: accuracy within 20 points of real: " + ", ".join(f"{h} {g * 100:+.1f} points: {g <= 0.20}" for h, g in gaps.items())
          + f"; FID conditioned {cond.fid:.2f} < unconditioned {unc.fid:.2f}: {cond.fid < unc.fid}")  # fmt: skip
    print(f"must-hold: prediction at {prediction.horizons_ms[-1]:g} ms {prediction.model_mm[-1]:.1f} mm < zero-velocity "
          f"{prediction.zero_velocity_mm[-1]:.1f} mm: {prediction.model_mm[-1] < prediction.zero_velocity_mm[-1]}")  # fmt: skip
    print(f"total {(time.perf_counter() - t0) / 60:.1f} min; strips: {', '.join(strips)}")
    return run.summary


def cli(argv=None) -> dict:
    """Parse ``argv`` (default: the command line; ``--config FILE.yaml`` supplies defaults) and run."""
    return main(*make_parser().parse(argv))


if __name__ == "__main__":
    cli()
