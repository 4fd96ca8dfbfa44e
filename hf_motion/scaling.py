"""Scaling: train several model presets on the same data and fit bits per frame against size.

M5 reports that cross-entropy falls linearly in log model size. :func:`run_scaling` trains each
preset (:func:`hf_motion.training.pretrain`) into ``<output_dir>/<preset>`` with the same data
options, seed and steps; the shared pretraining options are passed as argv strings
(``--max_clips 40``, ``--learning_rate 1e-3``, ...), and ``pretrain_config`` gives them a YAML
file. A preset whose folder already holds a finished run with the same number of steps and
options is not retrained (``retrain=True`` deletes it and trains afresh); an interrupted one
resumes from its last checkpoint. A folder holding a run with other options is refused, naming
the options that differ.

Outputs in ``output_dir``: ``scaling.md`` (a row per preset: parameters, steps, validation bits per
frame before and after training, time), ``scaling.json`` and ``scaling.png`` (final validation bits
per frame against parameters, log x, with the least-squares line in log size). The command line is
``hf-motion scaling`` / ``python recipes/scaling.py`` (:mod:`hf_motion.scripts.scaling`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


@dataclass
class ScalingArguments:
    """Options of the scaling sweep; every other option goes to pretraining (:mod:`hf_motion.training`)."""

    presets: list[str] = field(
        default_factory=lambda: ["tiny", "m5-150k", "m5-1m"],
        metadata={"help": "model presets to train (hf_motion.MODEL_PRESETS)"},
    )
    output_dir: str = field(default="runs/scaling", metadata={"help": "one sub-folder per preset, plus the table and plot"})
    max_steps: int = field(default=300, metadata={"help": "optimizer steps per preset"})
    pretrain_config: str | None = field(default=None, metadata={"help": "YAML config for pretraining (as recipes/pretrain.py --config)"})
    retrain: bool = field(default=False, metadata={"help": "delete each preset's folder and train again, even if it holds a finished run"})


class ScalingError(ValueError):
    """Bad options for the sweep (the message says which)."""


def pretrain_parser():
    """The pretraining options' parser (the same one ``hf-motion pretrain`` uses)."""
    from .recipe_args import MotionArgumentParser
    from .training import PretrainDataArguments, PretrainModelArguments, PretrainTrainingArguments

    return MotionArgumentParser((PretrainDataArguments, PretrainModelArguments, PretrainTrainingArguments), prog="pretraining options")


def train_preset(argv: list[str]) -> dict:
    """Pretrain one preset from its pretraining options; returns the run summary."""
    from .training import pretrain

    return pretrain(*pretrain_parser().parse(argv))


def check_args(args: ScalingArguments, pretrain_argv: list[str]) -> None:
    """Everything that can be checked before an hour of training (raises :class:`ScalingError`)."""
    from .models.motion_gpt2.modeling_motion_gpt2 import MODEL_PRESETS

    if len(args.presets) < 2:
        raise ScalingError(f"a scaling sweep needs at least 2 presets, got {args.presets}")
    unknown = [p for p in args.presets if p not in MODEL_PRESETS]
    if unknown:
        raise ScalingError(f"unknown preset(s) {unknown}; choose from {list(MODEL_PRESETS)}")
    if len(set(args.presets)) != len(args.presets):
        raise ScalingError(f"presets listed twice: {args.presets}")
    if args.max_steps < 1:
        raise ScalingError(f"--max_steps must be >= 1, got {args.max_steps}")
    if args.pretrain_config is not None and not Path(args.pretrain_config).is_file():
        raise ScalingError(f"--pretrain_config {args.pretrain_config} is not a file")
    for flag in ("--preset", "--init_from", "--init-from"):
        if flag in pretrain_argv:
            raise ScalingError(f"{flag} is set per preset by the sweep; use the sweep's own options instead")
    try:
        pretrain_parser().parse(preset_argv(args, pretrain_argv, args.presets[0]))
    except (ValueError, SystemExit) as e:
        raise ScalingError(f"options passed on to pretraining were rejected: {e}") from None


def preset_argv(args: ScalingArguments, pretrain_argv: list[str], preset: str) -> list[str]:
    argv = ["--config", args.pretrain_config] if args.pretrain_config else []
    return argv + list(pretrain_argv) + [
        "--preset", preset, "--output_dir", str(Path(args.output_dir) / preset), "--max_steps", str(args.max_steps),
    ]  # fmt: skip


_STAMP = "scaling_run.json"  # the pretraining options a preset's folder was trained with


def finished_summary(run_dir: Path, argv: list[str], max_steps: int) -> dict | None:
    """The summary of a finished run in ``run_dir`` trained with exactly ``argv``, else None."""
    try:
        stamp = json.loads((run_dir / _STAMP).read_text())
        summary = json.loads((run_dir / "pretrain_summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if stamp != argv or summary.get("steps") != max_steps or summary.get("final_eval_bits_per_frame") is None:
        return None
    return summary


def fit_log_line(params: list[int], bits: list[float]) -> tuple[float, float] | None:
    """Least-squares ``bits = a + b * log10(params)``: ``(a, b)``, or None with fewer than 2 sizes."""
    if len(set(params)) < 2:
        return None
    b, a = np.polyfit(np.log10(params), bits, 1)
    return float(a), float(b)


def markdown_table(rows: list[dict], fit) -> str:
    lines = [
        "| preset | parameters | steps | training-set tokens | validation bits/frame (initial) | validation bits/frame (final) | train time (s) | device |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        initial = r.get("initial_eval_bits_per_frame")
        lines.append(
            f"| {r['preset']} | {r['parameters']:,} | {r['steps']} | {r['train_tokens']:,} | "
            f"{'-' if initial is None else f'{initial:.1f}'} | {r['final_eval_bits_per_frame']:.1f} | "
            f"{r.get('train_runtime_s') or 0:.0f} | {r.get('device', '?')} |"
        )
    if fit is not None:
        lines += ["", f"Least-squares fit: bits/frame = {fit[0]:.1f} {fit[1]:+.1f} * log10(parameters)."]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], fit, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = np.array([r["parameters"] for r in rows], dtype=float)
    bits = np.array([r["final_eval_bits_per_frame"] for r in rows])
    fig, ax = plt.subplots(figsize=(6.4, 4.4), constrained_layout=True)
    ax.plot(params, bits, "o", ms=8, label="final validation")
    initial = [r.get("initial_eval_bits_per_frame") for r in rows]
    if all(v is not None for v in initial):
        ax.plot(params, initial, "x", color="grey", label="before training")
    for r in rows:
        ax.annotate(r["preset"], (r["parameters"], r["final_eval_bits_per_frame"]), textcoords="offset points", xytext=(6, 6), fontsize=9)
    if fit is not None:
        xs = np.geomspace(params.min(), params.max(), 50)
        ax.plot(xs, fit[0] + fit[1] * np.log10(xs), "--", lw=1, label=f"fit: {fit[1]:+.1f} bits/frame per decade")
    ax.set_xscale("log")
    ax.margins(x=0.12)  # room for the preset labels
    ax.set_xlabel("parameters")
    ax.set_ylabel("validation cross-entropy (bits per frame)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def run_scaling(args: ScalingArguments, pretrain_argv: list[str]) -> dict:
    """Run the sweep; returns ``{"runs": [summary per preset, by size], "fit": ...}`` (also written
    as ``scaling.json``, with ``scaling.md`` and ``scaling.png``). ``pretrain_argv`` are the
    pretraining options shared by every preset."""
    check_args(args, pretrain_argv)
    from accelerate import PartialState

    from .fileio import atomic_write_bytes, atomic_write_text
    from .training import OutputDirConflict

    out = Path(args.output_dir)
    rows = []
    for k, preset in enumerate(args.presets):
        run_dir = out / preset
        argv = preset_argv(args, pretrain_argv, preset)
        summary = None if args.retrain else finished_summary(run_dir, argv, args.max_steps)
        if summary is not None:
            logger.info("[%d/%d] %s: finished run found in %s, not retrained", k + 1, len(args.presets), preset, run_dir)
        else:
            logger.info("[%d/%d] training %s for %d steps into %s", k + 1, len(args.presets), preset, args.max_steps, run_dir)
            try:
                summary = train_preset(argv + (["--overwrite_output_dir"] if args.retrain else []))
            except OutputDirConflict as e:
                raise ScalingError(f"{preset}: {e}\n(for this sweep: pass --retrain to train {run_dir} afresh)") from None
            if PartialState().is_main_process:
                atomic_write_text(run_dir / _STAMP, json.dumps(argv) + "\n")
        if summary.get("final_eval_bits_per_frame") is None:
            raise ScalingError(f"{preset}: the run has no validation result (is the validation split empty?)")
        rows.append(dict(summary, run_dir=str(run_dir)))

    rows.sort(key=lambda r: r["parameters"])
    fit = fit_log_line([r["parameters"] for r in rows], [r["final_eval_bits_per_frame"] for r in rows])
    result = {
        "arguments": dataclasses.asdict(args),
        "pretrain_arguments": pretrain_argv,
        "runs": rows,
        "fit": None if fit is None else {"intercept": fit[0], "slope_bits_per_decade": fit[1]},
    }
    if PartialState().is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        table = markdown_table(rows, fit)
        atomic_write_text(out / "scaling.md", table)
        atomic_write_text(out / "scaling.json", json.dumps(result, indent=1, default=str) + "\n")
        steps = rows[0]["steps"]
        tokens = rows[0]["train_tokens"]
        title = f"{len(rows)} presets, {steps} steps each, on the same {tokens:,}-token training set"
        atomic_write_bytes(out / "scaling.png", plot(rows, fit, title))
    return result
