"""Model cards that fill themselves from a run, and the Hugging Face Hub path.

* :func:`build_model_card`: a :class:`huggingface_hub.ModelCard` from a template in
  ``model_cards/`` (Jinja2): base model, data, tasks, fold metrics (mean ± std and the number of
  folds), library versions, intended use and clinical caveats, with a ``model-index`` in the YAML
  metadata (one entry per task and metric: the mean over folds, the std and fold count in the
  metric's ``args``). :func:`model_card_from_summary` fills it from a run's ``summary.json``.
* :func:`validate_model_card`: offline validation. ``ModelCard.validate`` posts the card to the
  Hub, so offline we do what the Hub's parser does: load the YAML block through
  ``huggingface_hub``'s own ``ModelCardData`` (which raises on a malformed ``model-index``), parse
  the ``model-index`` back with ``model_index_to_eval_results`` and check that
  ``eval_results_to_model_index`` of the result reproduces it exactly (plus finite metric values,
  a license and ``library_name``). ``online=True`` also runs the Hub's check.
* :func:`save_for_hub`: model (safetensors only), tokenizer and ``README.md`` in one folder, written
  atomically; it loads back with the Auto classes after ``import hf_motion``.
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
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = [
    "ModelCardError",
    "TEMPLATE_DIR",
    "DEFAULT_DATA_CAVEAT",
    "DATASET_NOTES",
    "library_versions",
    "eval_results_from_fold_metrics",
    "build_model_card",
    "model_card_from_summary",
    "validate_model_card",
    "check_hub_folder",
    "save_for_hub",
    "push_to_hub",
]

#: Where the card templates live (``<repository>/model_cards``).
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "model_cards"

DEFAULT_DATA_CAVEAT = (
    "The evaluation data stand in for clinical data: the Bandai-Namco research motion dataset, "
    "in which professional actors perform everyday motions in styles such as *elderly*, *exhausted*, *old* "
    "or *tired*. Actors imitating a style are not patients; nothing here says how the model behaves on "
    "people with a movement disorder."
)

#: Provenance lines for known data sets (by ``dataset_id``), printed in the card's Data section.
DATASET_NOTES = {
    "bandai-namco-motion": (
        "Bandai-Namco-Research-Motiondataset (CC BY-NC 4.0; Kobayashi et al. 2023, arXiv:2306.08861): "
        "optical motion capture of professional actors at 30 fps, each clip labelled with a content "
        "(walk, run, wave, ...) and a style (normal, elderly, exhausted, ...)."
    ),
}

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


def _model_details(model: Any, tokenizer: Any, base_model: str | None, training: Mapping[str, Any] | None) -> str:
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
    rows.append(["base model", f"`{base_model}`" if base_model else "none (trained from scratch)"])
    for key, value in (training or {}).items():
        rows.append([key, value])
    return _md_table(["", ""], rows)


def _usage(model: Any, repo_hint: str, causal: bool) -> str:
    if causal:
        body = [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f'model = AutoModelForCausalLM.from_pretrained("{repo_hint}").eval()',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_hint}")',
            'motion = hf_motion.load_bvh("clip.bvh")',
            "future = hf_motion.predict(model, tokenizer, motion, seconds=0.4)  # a Motion",
        ]
    else:
        body = [
            "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
            "",
            f'model = AutoModelForSequenceClassification.from_pretrained("{repo_hint}").eval()',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_hint}")',
            'motion = hf_motion.load_bvh("clip.bvh")  # same joints, frame rate and window length as in training',
            'ids = tokenizer.encode_motion(angles=motion.rotations, task=">")',
            "out = model(input_ids=torch.as_tensor(ids)[None])",
        ]
        if getattr(getattr(model, "config", None), "targets", None):
            body.append("predictions = model.predictions(out.logits)  # {target: probabilities or values}")
        else:
            body.append("probabilities = out.logits.softmax(-1)")
    head = ["```python", "import torch", "import hf_motion  # registers the motion model and tokenizer classes"]
    return "\n".join(head + body + ["```"])


def _versions_table(versions: Mapping[str, str]) -> str:
    return _md_table(["library", "version"], [[k, v] for k, v in versions.items()])


def _resolve_template(template: str | os.PathLike) -> Path:
    path = Path(template)
    if path.suffix != ".md":
        path = TEMPLATE_DIR / f"{template}.md"
    if not path.is_file():
        available = sorted(p.stem for p in TEMPLATE_DIR.glob("*.md")) if TEMPLATE_DIR.is_dir() else []
        raise ModelCardError(
            f"model card template {template!r} not found (looked for {path}); templates in {TEMPLATE_DIR}: {available}. "
            "Pass template='/path/to/template.md' to use your own."
        )
    return path


# ------------------------------------------------------------------ cards
def build_model_card(
    model_name: str,
    *,
    tasks: Sequence[Any] = (),
    fold_metrics: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    cv_description: str = "grouped cross-validation",
    model: Any = None,
    tokenizer: Any = None,
    base_model: str | None = None,
    dataset_name: str = "Bandai-Namco-Research-Motiondataset",
    dataset_id: str = "bandai-namco-motion",
    dataset_description: str | None = None,
    data_caveat: str | None = DEFAULT_DATA_CAVEAT,
    task_sizes: Mapping[str, int] | None = None,
    comparisons: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]] | None = None,
    training: Mapping[str, Any] | None = None,
    early_stopping: bool = False,
    license: str = "cc-by-nc-4.0",
    tags: Sequence[str] = (),
    repo_id: str | None = None,
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
        base_model: the pretraining checkpoint. A Hub id (``owner/name``) also goes into the
            metadata's ``base_model``; a local path is only described in the text.
        dataset_name, dataset_id, dataset_description: the evaluation data.
        data_caveat: a paragraph on how the data differ from the intended use (default: the
            Bandai-Namco stand-in caveat; ``None`` to leave it out).
        task_sizes: clips per task.
        comparisons: other systems measured on the same folds, ``{"random forest": fold_metrics, ...}``,
            shown beside this model in the results table (not in the ``model-index``).
        training: hyper-parameters worth reporting (shown in the details table).
        early_stopping: the run stopped early on a validation split inside each training fold
            (the card then says so).
        license: the weights' license; the default follows the Bandai-Namco data's CC BY-NC 4.0.
        tags: extra Hub tags.
        repo_id: the Hub id used in the usage snippet (default ``model_name``).
        template: a template name in ``model_cards/`` (``"motion_finetuned"``, ``"motion_pretrained"``)
            or a path to a Jinja2 markdown template.
    """
    from huggingface_hub import ModelCard, ModelCardData

    if not model_name or not isinstance(model_name, str):
        raise ModelCardError("model_name must be a non-empty string")
    task_list = [_task_dict(t) for t in tasks]
    if not task_list and model is not None:
        task_list = [dict(t) for t in (getattr(model.config, "targets", None) or [])]
    eval_results = None
    if fold_metrics:
        eval_results = eval_results_from_fold_metrics(
            fold_metrics, task_list, dataset_name=dataset_name, dataset_id=dataset_id, cv_description=cv_description
        )
        if not eval_results:
            raise ModelCardError("fold_metrics hold no metric defined on any fold; nothing to report in the model-index")
    hub_base = base_model if base_model and _REPO_ID.match(base_model) and not Path(base_model).exists() else None
    card_data = ModelCardData(
        model_name=model_name,
        base_model=hub_base,
        license=license,
        library_name="transformers",
        pipeline_tag=_TASK_TYPE if task_list else None,
        tags=["hf_motion", "motion", "motion-capture", "m5", *(["clinical-research"] if task_list else []), *tags],
        eval_results=eval_results,
    )
    versions = library_versions()
    path = _resolve_template(template)
    return ModelCard.from_template(
        card_data,
        template_path=str(path),
        model_name=model_name,
        base_model_text=f"`{base_model}`" if base_model else "none: trained from scratch",
        model_details=_model_details(model, tokenizer, base_model, training),
        tasks_table=_tasks_table(task_list, task_sizes) if task_list else "",
        results_table=_results_table(fold_metrics, comparisons, "this model") if fold_metrics else "",
        cv_description=cv_description,
        n_folds=max((int(s.get("n_folds", 0)) for m in (fold_metrics or {}).values() for s in m.values()), default=0),
        dataset_name=dataset_name,
        dataset_note=DATASET_NOTES.get(dataset_id, ""),
        dataset_description=dataset_description or "",
        early_stopping=early_stopping,
        data_caveat=data_caveat or "",
        usage=_usage(model, repo_id or model_name, causal=path.stem == "motion_pretrained" or "CausalLM" in type(model).__name__),
        versions_table=_versions_table(versions),
        license=license,
    )


def model_card_from_summary(summary: Mapping[str, Any] | str | os.PathLike, model_name: str, **kwargs: Any):
    """:func:`build_model_card` filled from a run's ``summary.json`` (or its dict).

    The summary holds ``{"data": ..., "cv": {"description": ...}, "tasks": {name: {"kind",
    "n_clips", "metrics": {metric: {"mean", "std", "n_folds"}}, "classes"}}}``, as
    ``recipes/baseline_kinematic.py`` writes. ``kwargs`` go to :func:`build_model_card` and win.
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
        defaults["dataset_description"] = f"Source: `{summary['data']}`, {summary.get('n_clips', '?')} clips in {summary.get('n_groups', '?')} groups."
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
            raise ModelCardError(f"metric {r.metric_type!r} of {r.dataset_config or r.task_name!r} has value {r.metric_value!r}, not a finite number")
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
    validate_model_card(folder / "README.md", require_results=False)
    return files


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
