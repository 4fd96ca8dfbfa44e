"""Model cards that fill themselves from a run, and the Hugging Face Hub path.

* :func:`build_model_card`: a :class:`huggingface_hub.ModelCard` from a template shipped in
  ``hf_motion/assets/model_cards/`` (Jinja2): base model, data, tasks, fold metrics (mean ± std and
  the number of folds), library versions, intended use and clinical caveats, with a ``model-index``
  in the YAML metadata (one entry per task and metric: the mean over folds, the std and fold count
  in the metric's ``args``). :func:`model_card_from_summary` fills it from a run's ``summary.json``.
  The card says only what the run used: the data notes and the data's licence of a known data set
  (:data:`DATASET_NOTES`) only when that data set was used, a base model in the metadata only when it
  is a Hub id (a local path would leak the author's file system), and ``library_name: hf_motion``
  (loading needs ``import hf_motion``).
* :func:`validate_model_card`: offline validation. ``ModelCard.validate`` posts the card to the
  Hub, so offline we do what the Hub's parser does: load the YAML block through
  ``huggingface_hub``'s own ``ModelCardData`` (which raises on a malformed ``model-index``), parse
  the ``model-index`` back with ``model_index_to_eval_results`` and check that
  ``eval_results_to_model_index`` of the result reproduces it exactly (plus finite metric values,
  a license and ``library_name``). ``online=True`` also runs the Hub's check.
* :func:`save_for_hub`: model (safetensors only), tokenizer and ``README.md`` in one folder, written
  atomically; it loads back with the Auto classes after ``import hf_motion``.
* :class:`MotionCardData` / :class:`ModelCardCallback`: what a card says about a training run, filled
  by a ``TrainerCallback`` as the run goes (hyperparameters at the start, losses as they are logged,
  steps and epochs at the end) and rendered at every checkpoint save and at the end
  (sentence-transformers' pattern).
* :func:`push_to_hub`: that folder to a Hub repository in **one commit** through
  ``huggingface_hub.HfApi().upload_folder``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

__all__ = [
    "ModelCardError",
    "TEMPLATE_DIR",
    "DEFAULT_DATA_CAVEAT",
    "DATASET_NOTES",
    "DATASET_NAMES",
    "DATASET_LICENSES",
    "LIBRARY_NAME",
    "dataset_ids_from_sources",
    "library_versions",
    "eval_results_from_fold_metrics",
    "build_model_card",
    "model_card_from_summary",
    "validate_model_card",
    "check_hub_folder",
    "save_for_hub",
    "push_to_hub",
    "MotionCardData",
    "ModelCardCallback",
]

#: Where the card templates live (package data, so cards build after a plain ``pip install``).
TEMPLATE_DIR = Path(__file__).resolve().parent / "assets" / "model_cards"

#: The card's ``library_name``: loading needs hf_motion's classes (``import hf_motion``), not plain transformers.
LIBRARY_NAME = "hf_motion"

DEFAULT_DATA_CAVEAT = (
    "The evaluation data stand in for clinical data: the Bandai-Namco research motion dataset, "
    "in which professional actors perform everyday motions in styles such as *elderly*, *exhausted*, *old* "
    "or *tired*. Actors imitating a style are not patients; nothing here says how the model behaves on "
    "people with a movement disorder."
)

BANDAI_ID = "bandai-namco-motion"

#: Provenance lines for known data sets (by ``dataset_id``), printed in the card's Data section
#: only when the run used that data set.
DATASET_NOTES = {
    "bandai-namco-motion": (
        "Bandai-Namco-Research-Motiondataset (CC BY-NC 4.0; Kobayashi et al. 2023, arXiv:2306.08861): "
        "optical motion capture of professional actors at 30 fps, each clip labelled with a content "
        "(walk, run, wave, ...) and a style (normal, elderly, exhausted, ...)."
    ),
}
#: Display names and licences (Hub licence ids) of the known data sets.
DATASET_NAMES = {BANDAI_ID: "Bandai-Namco-Research-Motiondataset"}
DATASET_LICENSES = {BANDAI_ID: "cc-by-nc-4.0"}
USER_DATA_NAME = "user-supplied data"
USER_DATA_NOTE = (
    "User-supplied motion data: hf_motion does not know their provenance or licence, so this card "
    "claims neither. Check the data owner's terms before using or sharing this model."
)
#: The weights' licence when no known data set was used: the data's terms decide, so nothing is claimed.
UNKNOWN_DATA_LICENSE = "other"
_AUTO: Any = object()  # data_caveat default: the Bandai stand-in caveat iff Bandai data were used

_METRIC_TYPES = {  # our metric name -> (model-index metric type, config)
    "auc": ("roc_auc", None),
    "f1": ("f1", "binary"),
    "macro_f1": ("f1", "macro"),
    "accuracy": ("accuracy", None),
    "rmse": ("rmse", None),
}
_TASK_TYPE = "text-classification"  # the pipeline of AutoModelForSequenceClassification (also used for regression heads)
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5", ".msgpack")


class ModelCardError(ValueError):
    """A model card or Hub folder that would not validate; the message says what is wrong."""


# ------------------------------------------------------------------ pieces
def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model card reports."""
    out = {"python": platform.python_version()}
    for name in ("hf_motion", "transformers", "torch", "tokenizers", "huggingface_hub", "datasets", "accelerate",
                 "numpy", "scikit-learn"):  # fmt: skip
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _task_dict(task: Any) -> dict[str, Any]:
    if hasattr(task, "to_dict"):
        task = task.to_dict()
    if not isinstance(task, Mapping) or "name" not in task or "kind" not in task:
        raise ModelCardError(f"a task must be a TaskSpec or a mapping with 'name' and 'kind', got {task!r}")
    return dict(task)


def dataset_ids_from_sources(sources: str | os.PathLike | Sequence[str | os.PathLike] | None) -> list[str | None]:
    """The known data set (:data:`DATASET_NOTES` key) behind each data source a run used, None for
    the user's own data, so a card credits (and licenses after) only what was actually used.

    A source is a named source (``"bandai-namco"``, ``"bandai-namco:dataset-1,dataset-2"``) or a
    folder; a folder counts as Bandai-Namco when a path component is the data set's folder name
    (``.../bandai-namco-motion/...``): the files are then Bandai's, whatever the spelling.
    """
    if sources is None:
        return []
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    ids: list[str | None] = []
    for source in sources:
        text = os.fspath(source).strip()
        name = text.split(":", 1)[0]
        parts = {part.lower() for part in Path(text).parts}
        ids.append(BANDAI_ID if name == "bandai-namco" or BANDAI_ID in parts else None)
    return ids


def _source_label(source: Any) -> str:
    """A data source for the card's text: a named source as typed, a folder without its path."""
    text = os.fspath(source) if isinstance(source, (str, os.PathLike)) else str(source)
    if re.fullmatch(r"[A-Za-z0-9_.\-]+(:[^/\\]*)?", text) and not Path(text).exists():
        return f"`{text}`"
    return "a local folder of motion files"


def _is_hub_id(name: str | None) -> bool:
    """``owner/name`` that is not a local path: only such a base model goes into the metadata."""
    return bool(name) and bool(_REPO_ID.match(name)) and not Path(name).exists()


def _base_model_text(base_model: str | None, note: str | None) -> str:
    """The base model in prose: a Hub id as a link; a local checkpoint without its path."""
    if not base_model:
        return "none: trained from scratch"
    if _is_hub_id(base_model):
        return f"[`{base_model}`](https://huggingface.co/{base_model})"
    return note or "a local pretraining checkpoint (not published on the Hugging Face Hub)"


def eval_results_from_fold_metrics(
    fold_metrics: Mapping[str, Mapping[str, Mapping[str, Any]]],
    tasks: Sequence[Any],
    *,
    dataset_name: str,
    dataset_id: str,
    cv_description: str,
):
    """``huggingface_hub.EvalResult`` objects for a ``model-index``: one per task and metric.

    Args:
        fold_metrics: ``{task: {metric: {"mean", "std", "n_folds"}}}`` (as
            :func:`hf_motion.cv.summarize_folds` returns per task). Metrics undefined on every
            fold (``n_folds == 0``) are left out.
        tasks: the tasks (their ``kind`` goes into the task name).
        dataset_name, dataset_id: the data's display name and identifier (``dataset.type``).
        cv_description: the evaluation split, e.g. ``"5-fold grouped cross-validation"``.

    Each task is its own ``dataset.config`` (as GLUE's tasks are configs), so results of
    different tasks stay separate in the ``model-index``.
    """
    from huggingface_hub import EvalResult

    kinds = {t["name"]: t["kind"] for t in map(_task_dict, tasks)}
    results = []
    for task, per_metric in fold_metrics.items():
        if task not in kinds:
            raise ModelCardError(f"fold metrics for task {task!r}, which is not among the tasks {list(kinds)}")
        for metric, s in per_metric.items():
            n = int(s.get("n_folds", 0))
            mean, std = float(s.get("mean", float("nan"))), float(s.get("std", float("nan")))
            if n == 0 or not math.isfinite(mean):
                continue
            metric_type, metric_config = _METRIC_TYPES.get(metric, (metric, None))
            results.append(
                EvalResult(
                    task_type=_TASK_TYPE,
                    task_name=f"{task} ({kinds[task]})",
                    dataset_type=dataset_id,
                    dataset_name=dataset_name,
                    dataset_config=task,
                    dataset_split=cv_description,
                    metric_type=metric_type,
                    metric_config=metric_config,
                    metric_value=round(mean, 4),
                    metric_name=f"{metric} (mean of {n} folds, std {std:.4f})",
                    metric_args={"std": round(std, 4), "n_folds": n},
                )
            )
    return results


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _mean_std(s: Mapping[str, Any] | None) -> str:
    if not s or not int(s.get("n_folds", 0)):
        return "n/a"
    return f"{float(s['mean']):.3f} ± {float(s['std']):.3f} ({int(s['n_folds'])})"


def _tasks_table(tasks: Sequence[dict[str, Any]], task_sizes: Mapping[str, int] | None) -> str:
    rows = []
    for t in tasks:
        if t.get("positive") is not None:
            what = f"{t.get('column', t['name'])} in {t['positive']}" + (
                f" vs {t['negative']}" if t.get("negative") is not None else " vs the rest"
            )
        elif t.get("classes") is not None:
            what = f"{t.get('column', t['name'])}: {', '.join(map(str, t['classes']))}"
        else:
            what = str(t.get("column", t["name"]))
        rows.append([t["name"], t["kind"], what, (task_sizes or {}).get(t["name"], "")])
    return _md_table(["task", "kind", "label", "clips"], rows)


def _results_table(
    fold_metrics: Mapping[str, Mapping[str, Mapping[str, Any]]],
    comparisons: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]] | None,
    this_model: str,
) -> str:
    systems = {this_model: fold_metrics, **dict(comparisons or {})}
    header = ["task", "metric"] + [f"{name}: mean ± std (folds)" for name in systems]
    rows = []
    for task, per_metric in fold_metrics.items():
        for metric in per_metric:
            rows.append([task, metric] + [_mean_std(s.get(task, {}).get(metric)) for s in systems.values()])
    return _md_table(header, rows)


def _model_details(model: Any, tokenizer: Any, base_model_text: str, training: Mapping[str, Any] | None) -> str:
    rows = []
    if model is not None:
        rows.append(["class", f"`{type(model).__name__}`"])
        cfg = model.config
        rows.append(["model_type", f"`{cfg.model_type}`"])
        n_params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
        rows.append(["parameters", f"{n_params:,}"])
        for key in ("preset", "n_layer", "n_embd", "n_head", "n_positions", "lm_loss_weight"):
            if getattr(cfg, key, None) is not None:
                rows.append([key, getattr(cfg, key)])
    if tokenizer is not None:
        rows.append(["tokenizer", f"`{type(tokenizer).__name__}`, vocabulary {len(tokenizer)}"])
        if hasattr(tokenizer, "digits"):
            rows.append(["characters per value", tokenizer.digits])
        for kind in ("angle", "position"):
            q = getattr(tokenizer, f"{kind}_quantizer", None)
            if q is not None:
                rows.append([f"{kind} bins", q.n_bins])
    rows.append(["base model", base_model_text])
    for key, value in (training or {}).items():
        rows.append([key, value])
    return _md_table(["", ""], rows)


def _usage(model: Any, repo_hint: str, causal: bool, fps: float | None = None, window: int | None = None) -> str:
    """The "How to use" text: a snippet that runs on a real BVH clip (``clip.bvh`` and ``repo_hint``
    are the placeholders to replace), reading the motion as in training: the training frame rate,
    the tokenizer's recorded joints, one training-length window."""
    frames = int(window) if window else 24
    resample = (
        [f"motion = hf_motion.resample_motion(motion, {float(fps):g})  # the frame rate the model was trained at"]
        if fps
        else ["# resample to the frame rate the model was trained at: motion = hf_motion.resample_motion(motion, fps)"]
    )
    read = [
        'motion = hf_motion.load_bvh("clip.bvh")',
        *resample,
        "if tokenizer.joint_names:  # the joints the model was trained on, in token order",
        "    motion = motion.select_joints(tokenizer.joint_names)",
    ]
    if causal:
        body = [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f'model = AutoModelForCausalLM.from_pretrained("{repo_hint}").eval()',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_hint}")',
            *read,
            f"context = motion.slice(max(motion.num_frames - {frames}, 0))  # the last {frames} frames",
            "future = hf_motion.predict(model, tokenizer, context, seconds=0.4, sliding=True)  # a Motion",
        ]
    else:
        body = [
            "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
            "",
            f'model = AutoModelForSequenceClassification.from_pretrained("{repo_hint}").eval()',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_hint}")',
            *read,
            f'ids = tokenizer.encode_motion(angles=motion.rotations[:{frames}], task=">")  # one {frames}-frame window',
            "with torch.no_grad():",
            "    out = model(input_ids=torch.as_tensor(ids)[None])",
        ]
        if getattr(getattr(model, "config", None), "targets", None):
            body.append("predictions = model.predictions(out.logits)  # {target: probabilities or values}")
        else:
            body.append("probabilities = out.logits.softmax(-1)")
    head = ["```python", *([] if causal else ["import torch"]),
            "import hf_motion  # registers the motion model and tokenizer classes with transformers' Auto classes"]  # fmt: skip
    intro = (
        "Loading needs the `hf_motion` library (the model and tokenizer classes are not part of "
        "transformers): install it and `import hf_motion` before calling the `Auto` classes. "
        "Without the import, transformers does not know this model type."
    )
    return intro + "\n\n" + "\n".join(head + body + ["```"])


def _versions_table(versions: Mapping[str, str]) -> str:
    return _md_table(["library", "version"], [[k, v] for k, v in versions.items()])


def _resolve_template(template: str | os.PathLike) -> Path:
    """A shipped template by name, or a path to the user's own ``.md`` template."""
    from . import resources

    path = Path(template)
    if path.suffix == ".md":
        if not path.is_file():
            raise ModelCardError(f"model card template {os.fspath(template)!r} not found: {path} is not a file")
        return path
    try:
        return resources.card_template_path(os.fspath(template))
    except (FileNotFoundError, ValueError) as e:
        raise ModelCardError(
            f"model card template {os.fspath(template)!r} not found ({e}). Pass template='/path/to/template.md' to use your own."
        ) from None


# ------------------------------------------------------------------ cards
def _data_used(data_sources: Any, dataset_name: str | None, dataset_id: str | None) -> tuple[list[str], bool, str, str]:
    """What the card may say about the data: the known data sets used, whether the user's own data
    were used, and the display name and ``model-index`` id. Nothing given counts as user data: a card
    must not credit (or license after) a data set the run did not use."""
    if dataset_id is not None:
        known = [dataset_id] if dataset_id in DATASET_NOTES else []
        return known, not known, dataset_name or DATASET_NAMES.get(dataset_id, dataset_id), dataset_id
    ids = dataset_ids_from_sources(data_sources)
    known = list(dict.fromkeys(i for i in ids if i is not None))
    user = not ids or None in ids
    names = [DATASET_NAMES.get(k, k) for k in known] + ([USER_DATA_NAME] if user else [])
    return known, user, dataset_name or " + ".join(names), "+".join(known + (["user-supplied"] if user else []))


def build_model_card(
    model_name: str,
    *,
    tasks: Sequence[Any] = (),
    fold_metrics: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    cv_description: str = "grouped cross-validation",
    model: Any = None,
    tokenizer: Any = None,
    base_model: str | None = None,
    base_model_note: str | None = None,
    data_sources: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    dataset_name: str | None = None,
    dataset_id: str | None = None,
    dataset_description: str | None = None,
    data_caveat: str | None = _AUTO,
    task_sizes: Mapping[str, int] | None = None,
    comparisons: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]] | None = None,
    training: Mapping[str, Any] | None = None,
    early_stopping: bool = False,
    license: str | None = None,
    tags: Sequence[str] = (),
    repo_id: str | None = None,
    fps: float | None = None,
    window: int | None = None,
    template: str | os.PathLike = "motion_finetuned",
):
    """A filled-in :class:`huggingface_hub.ModelCard`.

    Args:
        model_name: the model's name (also the ``model-index`` name).
        tasks: the tasks (:class:`~hf_motion.cv.TaskSpec` or dicts with ``name`` and ``kind``);
            default: the targets of ``model.config``.
        fold_metrics: ``{task: {metric: {"mean", "std", "n_folds"}}}`` over cross-validation folds;
            they fill the results table and the ``model-index``.
        cv_description: how the folds were made (e.g. ``"leave-one-group-out (12 folds)"``).
        model, tokenizer: the objects, for architecture and vocabulary details.
        base_model: the pretraining checkpoint. A Hub id (``owner/name``, not a local folder) goes
            into the metadata's ``base_model`` and the text; a local path is never written (it would
            publish the author's file system): the text says ``base_model_note`` instead (default:
            "a local pretraining checkpoint").
        data_sources: the data the run used, as typed (``"bandai-namco:dataset-2"``, folders, a
            list); see :func:`dataset_ids_from_sources`. A known data set's notes, caveat and licence
            appear only when it was used; other data are described as user-supplied, with no
            licence claim.
        dataset_name, dataset_id: the data's display name and identifier (``dataset.type`` in the
            ``model-index``); a ``dataset_id`` in :data:`DATASET_NOTES` counts as that data set,
            another as user data. Default: derived from ``data_sources``.
        dataset_description: more on the data (sources, sizes), printed in the Data section.
        data_caveat: a paragraph on how the data differ from the intended use (default: the
            Bandai-Namco stand-in caveat when Bandai-Namco data were used; ``None`` to leave it out).
        task_sizes: clips per task.
        comparisons: other systems measured on the same folds, ``{"random forest": fold_metrics, ...}``,
            shown beside this model in the results table (not in the ``model-index``).
        training: hyper-parameters worth reporting (shown in the details table).
        early_stopping: the run stopped early on a validation split inside each training fold
            (the card then says so).
        license: the weights' licence. Default: the data's licence when only known data sets with
            one licence were used (Bandai-Namco: CC BY-NC 4.0), else ``"other"`` (the data's terms
            decide; set it yourself).
        tags: extra Hub tags.
        repo_id: the Hub id used in the usage snippet (default ``model_name``).
        fps, window: the frame rate and window length (frames) the model reads, for the usage
            snippet (default: no resampling, 24 frames).
        template: a shipped template name (``"motion_finetuned"``, ``"motion_pretrained"``; see
            :func:`hf_motion.resources.card_template_names`) or a path to a Jinja2 markdown template.
    """
    from huggingface_hub import ModelCard, ModelCardData

    if not model_name or not isinstance(model_name, str):
        raise ModelCardError("model_name must be a non-empty string")
    task_list = [_task_dict(t) for t in tasks]
    if not task_list and model is not None:
        task_list = [dict(t) for t in (getattr(model.config, "targets", None) or [])]
    known, user_data, dataset_name, dataset_id = _data_used(data_sources, dataset_name, dataset_id)
    eval_results = None
    if fold_metrics:
        eval_results = eval_results_from_fold_metrics(
            fold_metrics, task_list, dataset_name=dataset_name, dataset_id=dataset_id, cv_description=cv_description
        )
        if not eval_results:
            raise ModelCardError("fold_metrics hold no metric defined on any fold; nothing to report in the model-index")
    data_licenses = {DATASET_LICENSES[k] for k in known if k in DATASET_LICENSES}
    if license is None:
        license = data_licenses.pop() if len(data_licenses) == 1 and not user_data else UNKNOWN_DATA_LICENSE
        license_text = (
            license
            if license != UNKNOWN_DATA_LICENSE
            else (
                "other: not set. The weights follow the terms of the data they were trained on, which "
                "hf_motion does not know; pass `license=` when building the card."
            )
        )
    else:
        license_text = license
    if data_caveat is _AUTO:
        data_caveat = DEFAULT_DATA_CAVEAT if BANDAI_ID in known else None
    notes = [DATASET_NOTES[k] for k in known]
    if user_data:
        named = dataset_name if dataset_name != USER_DATA_NAME and not known else None
        notes.append((f"{named}. " if named else "") + USER_DATA_NOTE)
    base_text = _base_model_text(base_model, base_model_note)
    card_data = ModelCardData(
        model_name=model_name,
        base_model=base_model if _is_hub_id(base_model) else None,
        license=license,
        library_name=LIBRARY_NAME,
        pipeline_tag=_TASK_TYPE if task_list else None,
        tags=[
            "hf_motion",
            "transformers",
            "motion",
            "motion-capture",
            "m5",
            *(["clinical-research"] if task_list else []),
            *tags,
        ],  # fmt: skip
        eval_results=eval_results,
    )
    versions = library_versions()
    path = _resolve_template(template)
    causal = path.stem == "motion_pretrained" or "CausalLM" in type(model).__name__
    return ModelCard.from_template(
        card_data,
        template_path=str(path),
        model_name=model_name,
        base_model_text=base_text,
        model_details=_model_details(model, tokenizer, base_text, training),
        tasks_table=_tasks_table(task_list, task_sizes) if task_list else "",
        results_table=_results_table(fold_metrics, comparisons, "this model") if fold_metrics else "",
        cv_description=cv_description,
        n_folds=max((int(s.get("n_folds", 0)) for m in (fold_metrics or {}).values() for s in m.values()), default=0),
        dataset_name=dataset_name,
        dataset_note=" ".join(DATASET_NOTES[k] for k in known),
        data_text=" ".join(notes),
        dataset_description=dataset_description or "",
        early_stopping=early_stopping,
        data_caveat=data_caveat or "",
        usage=_usage(model, repo_id or model_name, causal=causal, fps=fps, window=window),
        versions_table=_versions_table(versions),
        license=license,
        license_text=license_text,
    )


def model_card_from_summary(summary: Mapping[str, Any] | str | os.PathLike, model_name: str, **kwargs: Any):
    """:func:`build_model_card` filled from a run's ``summary.json`` (or its dict).

    The summary holds ``{"data": ..., "cv": {"description": ...}, "tasks": {name: {"kind",
    "n_clips", "metrics": {metric: {"mean", "std", "n_folds"}}, "classes"}}}``, as
    :mod:`hf_motion.baselines.kinematic` writes; ``data`` also decides the card's data notes and
    licence, ``settings`` (``fps``, ``window``) the usage snippet, and ``pretraining`` (``preset``,
    ``steps``, ``sources``, as :mod:`hf_motion.finetuning` writes) how a local base model is described.
    A folder source is not printed (it is a local path). ``kwargs`` go to :func:`build_model_card` and win.
    """
    if not isinstance(summary, Mapping):
        path = Path(summary)
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ModelCardError(f"cannot read the run summary {path}: {e}") from None
    if "tasks" not in summary or not isinstance(summary["tasks"], Mapping):
        raise ModelCardError(f"the run summary has no 'tasks' mapping (keys: {sorted(summary)})")
    tasks, fold_metrics, sizes = [], {}, {}
    for name, t in summary["tasks"].items():
        entry = {"name": name, "kind": t.get("kind"), "column": t.get("column", name)}
        for key in ("positive", "negative"):
            if t.get(key) is not None:
                entry[key] = t[key]
        if t.get("classes") is not None and t.get("kind") == "multiclass":
            entry["classes"] = t["classes"]
        tasks.append(entry)
        fold_metrics[name] = t.get("metrics", {})
        if "n_clips" in t:
            sizes[name] = t["n_clips"]
    defaults: dict[str, Any] = dict(
        tasks=tasks,
        fold_metrics=fold_metrics,
        task_sizes=sizes,
        cv_description=summary.get("cv", {}).get("description", "grouped cross-validation"),
    )
    if summary.get("data"):
        defaults["data_sources"] = summary["data"]
        defaults["dataset_description"] = (
            f"Source: {_source_label(summary['data'])}, {summary.get('n_clips', '?')} clips in {summary.get('n_groups', '?')} groups."
        )
    settings = summary.get("settings") or {}
    if settings.get("fps"):
        defaults["fps"] = settings["fps"]
    if settings.get("window"):
        defaults["window"] = settings["window"]
    pre = summary.get("pretraining") or {}
    if pre:  # the base model in prose (its local path stays out of the card)
        facts = ", ".join(f for f in (f"preset `{pre['preset']}`" if pre.get("preset") else "",
                                      f"{pre['steps']:,} steps" if isinstance(pre.get("steps"), int) else "") if f)  # fmt: skip
        if pre.get("sources"):
            facts += (" on " if facts else "on ") + ", ".join(map(_source_label, pre["sources"]))
        defaults["base_model_note"] = "a local hf_motion pretraining checkpoint" + (f" ({facts})" if facts else "")
    defaults.update(kwargs)
    return build_model_card(model_name, **defaults)


def validate_model_card(card: Any, require_results: bool = True, online: bool = False) -> list:
    """Validate a model card without the network; returns its parsed ``EvalResult`` list.

    Args:
        card: a :class:`huggingface_hub.ModelCard`, its text, or a path to a README.md.
        require_results: a card without a ``model-index`` is an error (default); with False it
            is accepted (e.g. a pretrained model's card) and ``[]`` is returned.
        online: also run ``ModelCard.validate`` (the Hub's own check; needs the network).

    Raises:
        ModelCardError: no YAML metadata, a ``model-index`` that ``huggingface_hub`` cannot parse or
            that does not round-trip, non-finite metric values, no license or ``library_name``.
    """
    import yaml
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard import REGEX_YAML_BLOCK
    from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

    if isinstance(card, (str, os.PathLike)) and not str(card).lstrip().startswith("---") and Path(card).is_file():
        text = Path(card).read_text(encoding="utf-8")
    else:
        text = str(card)
    match = REGEX_YAML_BLOCK.search(text)
    if not match:
        raise ModelCardError("the card has no YAML metadata block (--- ... --- at the top)")
    try:
        meta = yaml.safe_load(match.group(2)) or {}
    except yaml.YAMLError as e:
        raise ModelCardError(f"the card's YAML metadata does not parse: {e}") from None
    if not isinstance(meta, dict):
        raise ModelCardError("the card's YAML metadata must be a mapping")
    try:
        parsed = ModelCard(text, ignore_metadata_errors=False)
    except ValueError as e:
        raise ModelCardError(f"huggingface_hub rejects the card metadata: {e}") from None
    for key in ("license", "library_name"):
        if not meta.get(key):
            raise ModelCardError(f"the card metadata has no {key!r}")
    if "model-index" not in meta:
        if require_results:
            raise ModelCardError("the card metadata has no 'model-index'")
        if online:
            parsed.validate()
        return []
    try:
        name, results = model_index_to_eval_results(meta["model-index"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelCardError(f"the model-index does not parse ({type(e).__name__}: {e})") from None
    if not results:
        raise ModelCardError("the model-index holds no results")
    for r in results:
        if isinstance(r.metric_value, bool) or not isinstance(r.metric_value, (int, float)) or not math.isfinite(r.metric_value):
            raise ModelCardError(
                f"metric {r.metric_type!r} of {r.dataset_config or r.task_name!r} has value {r.metric_value!r}, not a finite number"
            )
    if eval_results_to_model_index(name, results) != meta["model-index"]:
        raise ModelCardError("the model-index does not round-trip through huggingface_hub's EvalResult parser")
    if parsed.data.model_name != name:
        raise ModelCardError(f"ModelCardData read the model name {parsed.data.model_name!r}, the model-index says {name!r}")
    if online:
        parsed.validate()
    return results


# ------------------------------------------------------------------ Hub folders
def check_hub_folder(folder: str | os.PathLike) -> list[str]:
    """Check that ``folder`` is ready to upload: README.md (a card that validates offline; a
    ``model-index`` is optional), ``config.json``,
    safetensors weights, a tokenizer, and no pickled weights. Returns the file list."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelCardError(f"{folder} is not a folder")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    pickled = [f for f in files if f.endswith(_WEIGHT_SUFFIXES)]
    if pickled:
        raise ModelCardError(f"{folder}: pickled weight files {pickled}; only safetensors are allowed")
    problems = []
    if "README.md" not in files:
        problems.append("README.md (the model card)")
    if "config.json" not in files:
        problems.append("config.json")
    if not any(f.endswith(".safetensors") for f in files):
        problems.append("*.safetensors weights")
    if "tokenizer_config.json" not in files:
        problems.append("tokenizer_config.json (save the tokenizer too)")
    if problems:
        raise ModelCardError(f"{folder} is missing {', '.join(problems)}")
    _check_loader(folder, files)
    validate_model_card(folder / "README.md", require_results=False)
    return files


def _check_loader(folder: Path, files: list[str]) -> None:
    """Configs whose ``auto_map`` names the loader (:mod:`hf_motion.remote_code`) need it beside them."""
    from .remote_code import LOADER_FILE, LOADER_MODULE

    for name in ("config.json", "preprocessor_config.json"):
        if name not in files:
            continue
        try:
            auto_map = json.loads((folder / name).read_text(encoding="utf-8")).get("auto_map") or {}
        except (OSError, json.JSONDecodeError) as e:
            raise ModelCardError(f"{folder / name} is not readable JSON: {e}") from None
        refs = [r for v in auto_map.values() for r in (v if isinstance(v, list) else [v]) if isinstance(r, str)]
        if any(r.startswith(LOADER_MODULE + ".") for r in refs) and LOADER_FILE not in files:
            raise ModelCardError(
                f"{folder}: {name} names {LOADER_FILE} in auto_map but the file is missing; save the model and "
                "processor with save_pretrained (they write it), or hf_motion.remote_code.write_loader(folder)"
            )


def save_for_hub(model: Any, tokenizer: Any, card: Any, folder: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write model (safetensors), tokenizer and model card (``README.md``) into ``folder``.

    The folder is built under a temporary name and moved into place only when everything was
    written and checked (:func:`check_hub_folder`), so a failure leaves no half-written repo.

    Args:
        card: a :class:`huggingface_hub.ModelCard` or its text.
        overwrite: replace an existing ``folder``.

    Returns:
        the folder.
    """
    from .fileio import atomic_directory

    if tokenizer is None:
        raise ModelCardError("save_for_hub needs the tokenizer: a Hub repo without it cannot encode motion")
    folder = Path(folder)
    with atomic_directory(folder, overwrite=overwrite) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(str(card), encoding="utf-8")  # after the tokenizer: the card wins
        check_hub_folder(tmp)
    return folder


def push_to_hub(
    source: str | os.PathLike | Sequence[Any] | Mapping[str, Any],
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    commit_message: str = "Upload hf_motion model, tokenizer and model card",
    revision: str | None = None,
    create_pr: bool = False,
    api: Any = None,
):
    """Upload model, tokenizer and card to the Hub in one commit.

    Args:
        source: a folder from :func:`save_for_hub`, or ``(model, tokenizer, card)`` /
            ``{"model": ..., "tokenizer": ..., "card": ...}`` (saved to a temporary folder first).
        repo_id: ``owner/name``; the repository is created if needed.
        token, private, revision, create_pr: as in ``huggingface_hub``.
        api: an ``HfApi`` to use (default ``HfApi(token=token)``).

    Returns:
        the ``CommitInfo`` of the single ``upload_folder`` commit.
    """
    from huggingface_hub import HfApi

    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        raise ModelCardError(f"repo_id must look like 'owner/name', got {repo_id!r}")
    api = api or HfApi(token=token)

    def upload(folder: Path):
        check_hub_folder(folder)
        api.create_repo(repo_id, token=token, private=private, repo_type="model", exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="model",
            token=token,
            commit_message=commit_message,
            revision=revision,
            create_pr=create_pr,
        )

    if isinstance(source, (str, os.PathLike)):
        return upload(Path(source))
    if isinstance(source, Mapping):
        missing = [k for k in ("model", "tokenizer", "card") if k not in source]
        if missing:
            raise ModelCardError(f"push_to_hub: the mapping lacks {missing}")
        model, tokenizer, card = source["model"], source["tokenizer"], source["card"]
    else:
        items = list(source)
        if len(items) != 3:
            raise ModelCardError("push_to_hub takes a folder, or (model, tokenizer, card)")
        model, tokenizer, card = items
    with tempfile.TemporaryDirectory(prefix="hf_motion_push_") as tmp:
        folder = save_for_hub(model, tokenizer, card, Path(tmp) / "repo")
        return upload(folder)


# ------------------------------------------------------------------ card data filled during training
@dataclass
class MotionCardData:
    """What a model card says about a training run; :class:`ModelCardCallback` fills
    :attr:`training` while ``Trainer`` runs, and :meth:`to_card` renders it with
    :func:`build_model_card` (the other fields are its arguments).

    ``training`` holds rows of the card's training table, in order: hyperparameters first, then
    the outcome (steps, epochs, last logged losses); a caller adds its own rows (e.g. bits per frame).
    """

    model_name: str
    template: str = "motion_pretrained"
    data_sources: list[str] = field(default_factory=list)
    dataset_description: str | None = None
    base_model: str | None = None
    fps: float | None = None
    window: int | None = None
    early_stopping: bool = False
    training: dict[str, Any] = field(default_factory=dict)

    def card_arguments(self) -> dict[str, Any]:
        """The :func:`build_model_card` arguments this data sets (unset ones are left out, so a
        caller's defaults, e.g. :func:`model_card_from_summary`'s, stand)."""
        out: dict[str, Any] = {"template": self.template, "training": dict(self.training), "early_stopping": self.early_stopping}
        for name in ("data_sources", "dataset_description", "base_model", "fps", "window"):
            value = getattr(self, name)
            if value not in (None, [], ""):
                out[name] = value
        return out

    def to_card(self, model: Any = None, tokenizer: Any = None, **kwargs: Any):
        """The :class:`huggingface_hub.ModelCard` (``kwargs`` go to :func:`build_model_card`)."""
        return build_model_card(self.model_name, model=model, tokenizer=tokenizer, **{**self.card_arguments(), **kwargs})

    def save(self, folder: str | os.PathLike, model: Any = None, tokenizer: Any = None) -> Path:
        """Render and write ``folder/README.md`` atomically."""
        from .fileio import atomic_write_text

        path = Path(folder) / "README.md"
        atomic_write_text(path, str(self.to_card(model=model, tokenizer=tokenizer)))
        return path


class ModelCardCallback(TrainerCallback):
    """Fills a :class:`MotionCardData` during ``Trainer.train`` and writes the card into every
    checkpoint (so a checkpoint pushed to the Hub explains itself).

    Recorded: learning rate, effective batch size, scheduler, warmup, weight decay, precision,
    seed and devices at the start; the last training and validation loss as they are logged; the
    steps and epochs run at the end. Only the main process writes.
    """

    def __init__(self, card_data: MotionCardData, tokenizer: Any = None, write_checkpoints: bool = True) -> None:
        self.card_data = card_data
        self.tokenizer = tokenizer
        self.write_checkpoints = write_checkpoints

    def on_train_begin(self, args, state, control, **kwargs):
        batch = args.per_device_train_batch_size * max(1, args.world_size) * args.gradient_accumulation_steps
        precision = "bf16" if args.bf16 else ("fp16" if args.fp16 else "fp32")
        self.card_data.training.update(
            {
                "learning rate": args.learning_rate,
                "batch size (all devices)": batch,
                "scheduler": f"{getattr(args.lr_scheduler_type, 'value', args.lr_scheduler_type)}, warmup {args.warmup_steps:g}",
                "weight decay": args.weight_decay,
                "precision": precision,
                "seed": args.seed,
                "processes": args.world_size,
            }
        )

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key, name in (("loss", "last training loss"), ("eval_loss", "last validation loss")):
            if logs and isinstance(logs.get(key), (int, float)):
                self.card_data.training[name] = round(float(logs[key]), 4)

    def on_save(self, args, state, control, model=None, **kwargs):
        if not (self.write_checkpoints and state.is_world_process_zero):
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            self._record_progress(state)
            self.card_data.save(folder, model=model, tokenizer=self.tokenizer)

    def on_train_end(self, args, state, control, **kwargs):
        self._record_progress(state)

    def _record_progress(self, state) -> None:
        self.card_data.training["steps"] = int(state.global_step)
        if state.epoch is not None:
            self.card_data.training["epochs"] = round(float(state.epoch), 3)
