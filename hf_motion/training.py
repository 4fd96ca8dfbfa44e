"""Pretraining and the training utilities the scripts share.

* :func:`pretrain` with its arguments (:class:`PretrainDataArguments`,
  :class:`PretrainModelArguments`, :class:`PretrainTrainingArguments`): M5 pretraining, the body
  of ``hf_motion.scripts.pretrain`` (``accelerate launch recipes/pretrain.py``).
* :class:`MotionTrainer`: ``Trainer`` that logs bits per frame, weights the loss per task and
  writes checkpoints atomically, each with the model's :class:`~hf_motion.MotionProcessor`.
* :func:`resolve_output_dir` / :func:`prepare_output_dir`: whether a rerun resumes, refuses
  (:class:`OutputDirConflict`) or starts fresh, from the recorded run settings.
* :class:`WindowDataset` / :class:`WindowCollator`: token windows (with per-clip targets) for
  fine-tuning, right-padded into batches; :func:`quiet_transformers` silences the messages that
  would repeat every fold.
* :func:`set_cpu_threads`: torch's CPU thread count for a training process. ``accelerate launch``
  without a config file sets ``OMP_NUM_THREADS=1`` for a single CPU process, which on a 2-core
  machine makes the main command's training about 3x slower; the scripts call this instead of
  inheriting that.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments, set_seed
from transformers.trainer_utils import get_last_checkpoint, rotate_checkpoints

logger = logging.getLogger(__name__)

__all__ = [
    "PretrainDataArguments",
    "PretrainModelArguments",
    "PretrainTrainingArguments",
    "MotionTrainer",
    "OutputDirConflict",
    "pretrain",
    "prepare_output_dir",
    "resolve_output_dir",
    "run_settings",
    "set_cpu_threads",
    "WindowDataset",
    "WindowCollator",
    "eval_window_batches",
    "quiet_transformers",
]


def _busy_fraction(seconds: float = 0.25) -> float:
    """The share of all cores busy over the next ``seconds``: measured now, not the 1-minute load
    average, which right after ``pip install`` still counts the install and would halve the threads."""
    import psutil  # an accelerate dependency

    return min(1.0, max(0.0, psutil.cpu_percent(interval=seconds) / 100.0))


def set_cpu_threads(num_threads: int | None = None) -> int:
    """Set torch's CPU threads and return them.

    ``num_threads`` is used as given. ``None`` takes the cores that are idle now (measured over a
    quarter of a second) shared among this node's processes, at least one: on a busy machine
    more threads than idle cores make every step several times slower (the threads wait on each
    other). On a CUDA machine nothing is changed unless ``num_threads`` is given.
    """
    import torch

    if num_threads is not None:
        if int(num_threads) < 1:
            raise ValueError(f"num_threads must be at least 1, got {num_threads}")
        torch.set_num_threads(int(num_threads))
        return int(num_threads)
    if torch.cuda.is_available():
        return torch.get_num_threads()
    from accelerate import PartialState

    cores = os.cpu_count() or 1
    idle = cores * (1.0 - _busy_fraction())
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE") or PartialState().num_processes))  # processes on this node
    threads = max(1, int(round(idle)) // local)
    torch.set_num_threads(threads)
    return threads


# ------------------------------------------------------------------ pretraining arguments


@dataclass
class PretrainDataArguments:
    """What to train on (see ``hf_motion.datasets.MotionDatasetConfig``)."""

    sources: list[str] = field(
        default_factory=lambda: ["bandai-namco:dataset-1"],
        metadata={"help": "motion sources: folders of BVH/AMASS files, or 'bandai-namco', 'bandai-namco:dataset-1', ..."},
    )
    tokenizer: str = field(default="tokenizer_configs/m5-delta-motion", metadata={"help": "tokenizer folder or Hub id"})
    tasks: str = field(
        default="acm=0.85,pcm=0.05,fk=0.05,ik=0.05",
        metadata={
            "help": "task proportions (M5 used equal shares; angle continuation gets most of the short "
            "CPU budget here, because it is what motion prediction reads)"
        },
    )
    task_loss_weights: str = field(
        default="",
        metadata={
            "help": "per-task weights of the training loss, e.g. 'acm=2,ik=0.5' (unnamed tasks weigh 1; "
            "default: every token weighs the same). Evaluation loss stays unweighted"
        },
    )
    window: int = field(
        default=24, metadata={"help": "frames per example (at --fps): 2.4 s, enough for the 2 s + 0.4 s prediction benchmark"}
    )
    stride: int | None = field(default=12, metadata={"help": "frames between window starts"})
    fps: float = field(default=10.0, metadata={"help": "resample every clip to this rate"})
    joints: str = field(
        default="auto",
        metadata={
            "help": "'auto' (each skeleton's core body joints found by name; bandai-core on Bandai-Namco), "
            "'all', a registered joint subset or comma-separated joint names"
        },
    )
    angle_reference: str = field(
        default="train-mean",
        metadata={
            "help": "'train-mean': write angles relative to each joint's mean rotation over the training split "
            "(no axis-angle flip near pi; saved in the tokenizer); 'none': raw axis-angle"
        },
    )
    context_length: int = field(
        default=1280, metadata={"help": "pack examples into rows of this many tokens (longer examples continue in the next row)"}
    )
    max_clips: int | None = field(default=None, metadata={"help": "use at most this many clips (quick runs)"})
    num_proc: int | None = field(default=None, metadata={"help": "worker processes for the build (default: all cores)"})
    cache_dir: str | None = field(default=None, metadata={"help": "dataset cache (default ~/.cache/hf_motion)"})
    skip_bad: bool = field(default=False, metadata={"help": "skip unreadable files instead of stopping"})


@dataclass
class PretrainModelArguments:
    preset: str = field(default="tiny", metadata={"help": "tiny, m5-150k, m5-1m, m5-5m, m5-26m"})
    use_joint_embeddings: bool = field(default=True, metadata={"help": "add joint-index embeddings"})
    use_frame_embeddings: bool = field(default=True, metadata={"help": "add frame-index embeddings"})
    use_previous_token_embeddings: bool = field(
        default=True,
        metadata={
            "help": "copy path: at each position, an embedding of the previous frame's token at the slot being "
            "predicted (hf_motion.modeling.MotionGPT2Model.previous_frame_token_ids)"
        },
    )
    use_level_embeddings: bool = field(
        default=True,
        metadata={
            "help": "level path: at each position, an embedding of the level (keyframe plus changes since) that the "
            "previous frame decoded to at the slot being predicted (hf_motion.modeling.MotionGPT2Model.previous_frame_level_ids)"
        },
    )
    ordinal_embeddings: bool = field(
        default=True,
        metadata={
            "help": "initialise value-token embeddings (tied with the output layer) from smooth features of "
            "their values (hf_motion.modeling.init_ordinal_embeddings)"
        },
    )
    attn_pdrop: float = field(
        default=0.0,
        metadata={
            "help": "attention dropout; off by default because it forces PyTorch's unfused attention "
            "(about 7x slower on CPU). Residual and embedding dropout stay at M5's 0.1."
        },
    )
    n_positions: int | None = field(default=None, metadata={"help": "position embeddings (default: max(context_length, preset's))"})
    init_from: str | None = field(default=None, metadata={"help": "start from this checkpoint instead of scratch"})
    resume: str = field(
        default="auto",
        metadata={
            "help": "'auto': the last complete checkpoint in output_dir if its recorded settings match (else "
            "refuse); 'no': from scratch; or a checkpoint path to resume whatever the settings"
        },
    )
    num_threads: int | None = field(
        default=None,
        metadata={
            "help": "torch CPU threads (default: the idle cores per process; accelerate launch's OMP_NUM_THREADS=1 is not inherited)"
        },
    )


@dataclass
class PretrainTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with defaults that finish on a 2-core CPU in a few minutes."""

    output_dir: str = field(default="runs/pretrain-tiny")
    max_steps: int = field(default=900)  # tiny model, copy and level paths: ~0.5 s/step on two CPU threads
    per_device_train_batch_size: int = field(default=8)
    per_device_eval_batch_size: int = field(default=8)
    learning_rate: float = field(default=2e-3)
    weight_decay: float = field(default=0.01)
    warmup_steps: float = field(default=100)
    lr_scheduler_type: str = field(default="cosine")
    logging_steps: float = field(default=50)
    logging_first_step: bool = field(default=True)
    eval_strategy: str = field(default="steps")
    eval_steps: float = field(default=200)
    save_steps: float = field(default=200)
    save_total_limit: int | None = field(default=2)
    dataloader_num_workers: int = field(default=0)
    dataloader_pin_memory: bool = field(default=torch.cuda.is_available())
    seed: int = field(default=42)
    remove_unused_columns: bool = field(default=False)  # token_task reaches compute_loss
    disable_tqdm: bool = field(default=False)
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "delete the previous run in output_dir (checkpoints, model, records) and start fresh"},
    )


class OutputDirConflict(SystemExit):
    """``output_dir`` holds another run (other settings, or checkpoints of unknown origin); the
    message lists what differs and the ways out (``--resume PATH``, ``--overwrite_output_dir``)."""


class MotionTrainer(Trainer):
    """``Trainer`` that logs bits per frame, weights the training loss per task
    (``task_loss_weights``, one per task index of the rows' ``token_task``; None: plain) and
    writes checkpoints atomically."""

    def __init__(self, *args, tokens_per_frame: int, task_loss_weights: list[float] | None = None, processor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.processor = processor  # saved into every checkpoint: a checkpoint is a usable model folder
        self.tokens_per_frame = tokens_per_frame
        self.task_loss_weights = task_loss_weights

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        token_task = inputs.pop("token_task", None)
        if self.task_loss_weights is None or token_task is None or not model.training:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        from hf_motion.task_loss import task_weighted_lm_loss

        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = task_weighted_lm_loss(outputs.logits, labels, token_task, self.task_loss_weights)
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        # Cross-entropy per token (nats) -> bits per frame, M5's unit.
        for key in [k for k in logs if k.endswith("loss") and isinstance(logs[k], float)]:
            logs[key.replace("loss", "bits_per_frame")] = logs[key] / math.log(2) * self.tokens_per_frame
        super().log(logs, *args, **kwargs)

    def _get_output_dir(self, trial):
        return getattr(self, "_staging_dir", None) or super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial) -> None:
        # The parent writes checkpoint-N in place; a kill mid-write would leave a folder that
        # resuming trusts. Write it under a staging folder and rename it into place instead.
        run_dir = Path(super()._get_output_dir(trial))
        name = f"checkpoint-{self.state.global_step}"
        self._staging_dir = str(run_dir / ".staging")
        try:
            shutil.rmtree(self._staging_dir, ignore_errors=True)
            super()._save_checkpoint(model, trial)
        finally:
            self._staging_dir = None
        final = run_dir / name
        if final.exists():
            shutil.rmtree(final)
        if self.processor is not None and self.args.should_save:
            self.processor.save_pretrained(run_dir / ".staging" / name)
        os.replace(run_dir / ".staging" / name, final)
        shutil.rmtree(run_dir / ".staging", ignore_errors=True)
        if self.args.should_save:
            rotate_checkpoints(str(run_dir), save_total_limit=self.args.save_total_limit)


def dataset_config(data_args: PretrainDataArguments, seed: int):
    from .datasets import MotionDatasetConfig

    return MotionDatasetConfig(
        tasks=data_args.tasks,
        window=data_args.window,
        stride=data_args.stride,
        fps=data_args.fps,
        joints=data_args.joints,
        context_length=data_args.context_length,
        seed=seed,
        angle_reference=None if data_args.angle_reference in (None, "none") else data_args.angle_reference,
    )


def load_collection(data_args: PretrainDataArguments):
    """The training clips (listed, not read): ``sources``, at most ``max_clips`` of them."""
    from .datasets import as_collection

    collection = as_collection(data_args.sources, on_error="skip" if data_args.skip_bad else "raise")
    if data_args.max_clips is not None:
        collection = collection[: data_args.max_clips]
    return collection


def build_datasets(data_args: PretrainDataArguments, tokenizer, seed: int, collection=None):
    """The packed multi-task dataset (from the Arrow cache when it is current) and its config."""
    from .datasets import MotionDatasetBuilder

    config = dataset_config(data_args, seed)
    if collection is None:
        collection = load_collection(data_args)
    build = MotionDatasetBuilder(config, tokenizer).build(
        collection, num_proc=data_args.num_proc, cache_dir=data_args.cache_dir, skip_bad=data_args.skip_bad
    )
    return build, config


# ------------------------------------------------------------------ run settings and resuming

# TrainingArguments fields that change the optimisation (compared on a rerun); others (logging,
# evaluation and saving intervals, output folders, data-loader workers) may change freely.
OPTIMISATION_FIELDS = (
    "learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "optim",
    "optim_args", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "warmup_ratio", "max_steps",
    "num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps", "seed", "data_seed",
)  # fmt: skip


def _plain(value):
    return value.value if hasattr(value, "value") else value  # enums (optim, scheduler) as their strings


def run_settings(data_args: PretrainDataArguments, model_args: PretrainModelArguments, train_args, tokenizer, collection) -> dict:
    """What the run's result depends on: data (with the motion files' content digests), model and
    optimisation settings. A rerun into the same ``output_dir`` is compared against this."""
    from .datasets import tokenizer_fingerprint
    from .skeletons import resolve_joint_subset

    dataset = dataset_config(data_args, train_args.seed).to_dict()
    dataset.pop("seed")  # under optimisation.seed
    dataset["joints"] = resolve_joint_subset(data_args.joints)  # the names: a re-registered subset differs
    return {
        "data": {
            "files": collection.fingerprint(),  # paths, sizes, content digests, ids, groups, labels
            "n_clips": len(collection),
            "max_clips": data_args.max_clips,
            "skip_bad": data_args.skip_bad,
            "task_loss_weights": data_args.task_loss_weights,
            "tokenizer": tokenizer_fingerprint(tokenizer),
            **dataset,
        },
        "model": {
            "preset": model_args.preset,
            "use_joint_embeddings": model_args.use_joint_embeddings,
            "use_frame_embeddings": model_args.use_frame_embeddings,
            "use_previous_token_embeddings": model_args.use_previous_token_embeddings,
            "use_level_embeddings": model_args.use_level_embeddings,
            "ordinal_embeddings": model_args.ordinal_embeddings,
            "attn_pdrop": model_args.attn_pdrop,
            "n_positions": model_args.n_positions,
            "init_from": model_args.init_from,
        },
        "optimisation": {
            **{f: _plain(getattr(train_args, f)) for f in OPTIMISATION_FIELDS if hasattr(train_args, f)},
            "world_size": train_args.world_size,
        },
    }


def _checkpoint_step(path: str | os.PathLike) -> int | None:
    """The global step of a checkpoint folder (its trainer_state.json, else its ``checkpoint-N`` name)."""
    try:
        return int(json.loads((Path(path) / "trainer_state.json").read_text())["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        name = Path(path).name
        return int(name.split("-", 1)[1]) if name.startswith("checkpoint-") and name[11:].isdigit() else None


def _is_run_dir(out: Path) -> bool:
    from .recipe_args import RUN_SETTINGS_FILE

    return out.is_dir() and (
        (out / RUN_SETTINGS_FILE).exists() or (out / "pretrain_summary.json").exists() or any(out.glob("checkpoint-*"))
    )


def _clear_run_dir(out: Path) -> None:
    """Delete a previous run's folder: renamed aside first, so a kill mid-delete leaves no half run."""
    aside = out.parent / f".{out.name}.overwritten-{os.getpid()}-{time.time_ns()}"
    os.replace(out, aside)
    shutil.rmtree(aside, ignore_errors=True)
    logger.info("--overwrite_output_dir: deleted the previous run in %s", out)


def resolve_output_dir(output_dir: str, settings: dict, resume: str, overwrite: bool) -> tuple[str | None, bool]:
    """Decide how this run uses ``output_dir`` (see :mod:`hf_motion.scripts.pretrain`); changes nothing.

    Returns ``(checkpoint to resume or None, whether to delete the previous run first)``.

    Raises:
        OutputDirConflict: ``output_dir`` holds a run with other settings (listing them), or
            checkpoints without a settings record, or ``--resume no`` would mix two runs.
    """
    from .recipe_args import RUN_SETTINGS_FILE, read_run_settings, settings_differences

    out = Path(output_dir)
    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    ways = (
        f"resume {'it' if last else 'a checkpoint'} anyway with --resume {last or 'PATH'}, or start fresh with "
        "--overwrite_output_dir (deletes the previous run in that folder), or choose another --output_dir"
    )
    if resume not in ("auto", "no"):
        if not Path(resume).is_dir():
            raise SystemExit(f"--resume {resume}: no such checkpoint folder")
        if overwrite and Path(resume).resolve().is_relative_to(out.resolve()):
            raise SystemExit(f"--resume {resume} is inside --output_dir {out}, which --overwrite_output_dir would delete")
        if not overwrite and last is not None:
            step = _checkpoint_step(resume)
            later = sorted(
                (c for c in out.glob("checkpoint-*") if c.is_dir() and (step is None or (_checkpoint_step(c) or 0) > step)),
                key=lambda c: _checkpoint_step(c) or 0,
            )
            try:
                record = read_run_settings(out)
            except ValueError:
                record = None
            if later and (record is None or settings_differences(record["settings"], settings)):
                raise OutputDirConflict(
                    f"--resume {resume}: {out} also holds {', '.join(c.name for c in later)} of a run with other (or "
                    f"unrecorded) settings; after a kill, --resume auto would pick {later[-1].name} instead of this "
                    "run's own checkpoints. Choose another --output_dir (or, with a --resume outside it, "
                    "--overwrite_output_dir)"
                )
        return resume, overwrite and _is_run_dir(out)
    if overwrite:
        return None, _is_run_dir(out)
    try:
        record = read_run_settings(out)
    except ValueError as e:
        raise OutputDirConflict(f"{e}; cannot tell which run {out} holds: {ways}") from None
    if record is None:
        if last is not None:
            raise OutputDirConflict(
                f"{out} holds checkpoints ({Path(last).name}) but no {RUN_SETTINGS_FILE}, so it cannot be told whether "
                f"they come from this command (e.g. a run of an older version): {ways}"
            )
        return None, False
    diffs = settings_differences(record["settings"], settings)
    if diffs:
        held = f"its checkpoint {Path(last).name}" if last else "its results"
        raise OutputDirConflict(
            f"{out} holds a run with other settings; not resuming {held}. Differing fields (recorded vs now):\n  "
            + "\n  ".join(diffs)
            + f"\nTo go on: {ways}."
        )
    if resume == "no":
        if last is not None:
            raise OutputDirConflict(
                f"--resume no: {out} holds this run's checkpoints (up to {Path(last).name}); a fresh run beside them "
                "would make a later resume pick the wrong one. Pass --overwrite_output_dir to delete them and start "
                "fresh, or choose another --output_dir"
            )
        return None, False
    return last, False


def prepare_output_dir(output_dir: str, settings: dict, resume: str, overwrite: bool, sources: list[str]) -> str | None:
    """:func:`resolve_output_dir` on every process, then (main process) delete the previous run if
    asked and record ``settings``. Returns the checkpoint to resume (or None)."""
    from accelerate import PartialState

    from .recipe_args import read_run_settings, settings_differences, write_run_settings

    state = PartialState()
    checkpoint, clear = resolve_output_dir(output_dir, settings, resume, overwrite)
    state.wait_for_everyone()  # every process decided before the folder changes
    if state.is_main_process:
        out = Path(output_dir)
        if clear:
            _clear_run_dir(out)
        info = {"sources": list(sources), "resumed_from": checkpoint}
        if checkpoint is not None and resume not in ("auto", "no"):
            try:
                record = read_run_settings(out)
            except ValueError:
                record = None
            diffs = settings_differences(record["settings"], settings) if record else []
            if diffs:
                logger.warning("--resume %s with settings that differ from the recorded run:\n  %s", checkpoint, "\n  ".join(diffs))
                info["resumed_despite"] = diffs
        out.mkdir(parents=True, exist_ok=True)
        write_run_settings(out, settings, **info)
    state.wait_for_everyone()
    return checkpoint


def _sources_text(sources: list[str]) -> str:
    """Named sources as typed; local folders and files counted, never by path (a public card)."""
    named = [f"`{src}`" for src in sources if not Path(src).exists()]
    local = len(sources) - len(named)
    return ", ".join(named + ([f"{local} local folder(s) of motion files"] if local else []))


def pretraining_card_data(output_dir: str, sources: list[str], data_config, train_tokens: int):
    """The pretrained model's :class:`~hf_motion.model_card.MotionCardData`: its data, filled
    during training by :class:`~hf_motion.model_card.ModelCardCallback`."""
    from .model_card import MotionCardData

    return MotionCardData(
        Path(output_dir).name,
        template="motion_pretrained",
        data_sources=list(sources),
        dataset_description=(
            f"Sources: {_sources_text(sources)}; {train_tokens:,} training tokens ({data_config.window}-frame windows at "
            f"{data_config.fps:g} fps, joints `{data_config.joints}`, tasks {data_config.to_dict()['tasks']})."
        ),
    )


def write_card(output_dir: str, model, tokenizer, summary: dict, card_data) -> None:
    """Render the card of ``card_data`` (filled during training) with the run's outcome: steps,
    bits per frame before and after, device."""
    card_data.training["steps"] = summary["steps"]
    card_data.training["validation bits per frame (before / after)"] = (
        f"{summary['initial_eval_bits_per_frame'] or float('nan'):.1f} / {summary['final_eval_bits_per_frame'] or float('nan'):.1f}"
    )
    card_data.training["device"] = summary["device"]
    card_data.save(output_dir, model=model, tokenizer=tokenizer)


def pretrain(
    data_args: PretrainDataArguments,
    model_args: PretrainModelArguments,
    train_args: PretrainTrainingArguments,
    callbacks: list | None = None,
) -> dict:
    """Pretrain a motion GPT on the four-task motion text; returns the run's summary.

    The model folder (``train_args.output_dir``) gets the model, the :class:`MotionProcessor`
    (its input contract) with the tokenizer, a model card, ``run_settings.json`` and
    ``pretrain_summary.json`` (a run log: the summary returned here). See
    :mod:`hf_motion.scripts.pretrain` for reruns and resuming. ``callbacks`` are extra
    ``TrainerCallback`` objects (tests use one to interrupt a run).
    """
    from .model_card import ModelCardCallback
    from .models.motion_gpt2.modeling_motion_gpt2 import (
        MODEL_PRESETS,
        MotionGPT2ForCausalLM,
        count_parameters,
        init_ordinal_embeddings,
        motion_gpt2_config,
    )  # fmt: skip
    from .processing import MotionProcessor
    from .resources import resolve_tokenizer
    from .task_loss import parse_task_loss_weights
    from .tokenization.tokenizer import MotionTokenizer

    if torch.cuda.is_available() and not (train_args.bf16 or train_args.fp16) and torch.cuda.is_bf16_supported():
        train_args = dataclasses.replace(train_args, bf16=True)
    threads = set_cpu_threads(model_args.num_threads)
    set_seed(train_args.seed)
    tokenizer = MotionTokenizer.from_pretrained(resolve_tokenizer(data_args.tokenizer))
    if not hasattr(tokenizer, "encode_motion"):
        raise SystemExit(f"{data_args.tokenizer} is not a MotionTokenizer folder")

    parse_task_loss_weights(data_args.task_loss_weights, list(dataset_config(data_args, 0).tasks))  # fail early
    t0 = time.perf_counter()
    # Settings first: a rerun with other settings is refused before the dataset is built.
    collection = load_collection(data_args)
    settings = run_settings(data_args, model_args, train_args, tokenizer, collection)
    resume = prepare_output_dir(train_args.output_dir, settings, model_args.resume, train_args.overwrite_output_dir, data_args.sources)
    # Under DDP the main process builds (or refreshes) the Arrow cache; the others then read it.
    with train_args.main_process_first(desc="motion dataset build"):
        build, data_config = build_datasets(data_args, tokenizer, train_args.seed, collection=collection)
    # The saved tokenizer records the training skeleton's joints, in token order.
    if tokenizer.joint_names is not None and list(tokenizer.joint_names) != build.stats.joint_names:
        logger.warning(
            "%s records joint_names %s, but the training data has %s; the saved tokenizer records the latter",
            data_args.tokenizer, tokenizer.joint_names, build.stats.joint_names,
        )  # fmt: skip
    tokenizer = build.tokenizer  # with the fitted angle reference, if any
    if tokenizer.joint_names is None:
        tokenizer = MotionTokenizer.from_pretrained(resolve_tokenizer(data_args.tokenizer), joint_names=build.stats.joint_names)
    ds = build.dataset
    keep = ["input_ids", "attention_mask", "labels", "token_task"]
    train_ds = ds["train"].select_columns(keep)
    eval_ds = ds["validation"].select_columns(keep) if "validation" in ds else None

    if model_args.init_from:
        model = MotionGPT2ForCausalLM.from_pretrained(model_args.init_from)
    else:
        config = motion_gpt2_config(
            model_args.preset,
            tokenizer,
            n_positions=model_args.n_positions or max(data_args.context_length, MODEL_PRESETS[model_args.preset].n_positions),
            use_joint_embeddings=model_args.use_joint_embeddings,
            use_frame_embeddings=model_args.use_frame_embeddings,
            use_previous_token_embeddings=model_args.use_previous_token_embeddings,
            use_level_embeddings=model_args.use_level_embeddings,
            attn_pdrop=model_args.attn_pdrop,
        )
        model = MotionGPT2ForCausalLM(config)
        if model_args.ordinal_embeddings:
            init_ordinal_embeddings(model, tokenizer, seed=train_args.seed)
    n_params = count_parameters(model)
    # The model's input contract (rate, joints, window), saved beside the tokenizer.
    processor = MotionProcessor.from_dataset_config(tokenizer, data_config, build.stats.joint_names)
    tokens_per_frame = processor.tokens_per_frame

    train_tokens = int(sum(len(x) for x in train_ds["input_ids"]))
    card_data = pretraining_card_data(train_args.output_dir, data_args.sources, data_config, train_tokens)
    trainer = MotionTrainer(
        model=model,
        args=train_args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        tokens_per_frame=tokens_per_frame,
        task_loss_weights=parse_task_loss_weights(data_args.task_loss_weights, list(data_config.tasks)),
        callbacks=[ModelCardCallback(card_data, tokenizer), *(callbacks or [])],
        processor=processor,
    )
    initial = trainer.evaluate() if (eval_ds is not None and resume is None) else {}
    result = trainer.train(resume_from_checkpoint=resume)
    final = trainer.evaluate() if eval_ds is not None else {}
    trainer.save_model(train_args.output_dir)
    if trainer.is_world_process_zero():
        processor.save_pretrained(train_args.output_dir)  # preprocessor_config.json + the tokenizer

    history = [h for h in trainer.state.log_history if "loss" in h]
    summary = {
        "preset": model_args.preset,
        "parameters": n_params,
        "sources": data_args.sources,
        "max_clips": data_args.max_clips,
        "skip_bad": data_args.skip_bad,
        "dataset": data_config.to_dict(),
        "train_rows": len(train_ds),
        "train_tokens": train_tokens,
        "tokens_per_frame": tokens_per_frame,
        "joint_names": build.stats.joint_names,
        "steps": trainer.state.global_step,
        "first_logged_loss": history[0]["loss"] if history else None,
        "last_logged_loss": history[-1]["loss"] if history else None,
        "initial_eval_bits_per_frame": initial.get("eval_bits_per_frame"),
        "final_eval_bits_per_frame": final.get("eval_bits_per_frame"),
        "final_eval_loss": final.get("eval_loss"),
        "train_runtime_s": result.metrics.get("train_runtime"),
        "wall_s": time.perf_counter() - t0,
        "resumed_from": resume,
        "device": str(trainer.args.device),
        "cpu_threads": threads,
        "bf16": bool(train_args.bf16),
    }
    if trainer.is_world_process_zero():
        from .fileio import atomic_write_text

        atomic_write_text(Path(train_args.output_dir, "pretrain_summary.json"), json.dumps(summary, indent=2) + "\n")
        write_card(train_args.output_dir, model, tokenizer, summary, card_data)
    return summary


# ------------------------------------------------------------------ fine-tuning windows
class WindowDataset(torch.utils.data.Dataset):
    """Token windows, with their clip's targets (``(n_targets,)``, NaN = not in the task) when given."""

    def __init__(self, windows: list, targets: np.ndarray | None = None) -> None:
        if targets is not None and len(targets) != len(windows):
            raise ValueError(f"{len(targets)} target rows for {len(windows)} windows")
        self.windows, self.targets = windows, targets

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = {"input_ids": self.windows[i]}
        if self.targets is not None:
            row["labels"] = self.targets[i]
        return row


class WindowCollator:
    """Right-pads windows with the pad token (a clip shorter than the window gives a shorter row)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = int(pad_token_id)

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        length = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), length), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.as_tensor(np.asarray(r["input_ids"]), dtype=torch.long)
            mask[i, :n] = 1
        batch = {"input_ids": ids, "attention_mask": mask}
        if "labels" in rows[0]:
            batch["labels"] = torch.as_tensor(np.stack([r["labels"] for r in rows]), dtype=torch.float32)
        return batch


def eval_window_batches(model, windows: list[np.ndarray], pad_token_id: int, batch_size: int = 32):
    """Yield :class:`WindowCollator` batches of ``windows`` on ``model``'s device, with ``model``
    in eval mode while the generator runs (its mode is restored when it ends or is closed)."""
    was_training = model.training
    model.eval()
    collate = WindowCollator(pad_token_id)
    try:
        for start in range(0, len(windows), batch_size):
            batch = collate([{"input_ids": w} for w in windows[start : start + batch_size]])
            yield {k: v.to(model.device) for k, v in batch.items()}
    finally:
        model.train(was_training)


@contextlib.contextmanager
def quiet_transformers():
    """Errors only and no per-checkpoint progress bars from ``transformers`` inside a fold: the
    expected messages (new heads, the tied LM head absent from a checkpoint) would repeat every fold."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
