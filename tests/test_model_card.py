"""Model cards (filled from a run, validated offline) and the Hub path: save the repo folder,
reload it with the Auto classes, push in one commit (HfApi patched, no network)."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import transformers
import yaml
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.repocard_data import eval_results_to_model_index
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import hf_motion  # noqa: F401  (registers the Auto classes)
from hf_motion.model_card import (
    ModelCardError,
    build_model_card,
    check_hub_folder,
    eval_results_from_fold_metrics,
    model_card_from_summary,
    push_to_hub,
    save_for_hub,
    validate_model_card,
)
from hf_motion.modeling import motion_gpt2_config
from hf_motion.multitask import MotionGPT2ForMultiTask, MotionMultiTaskConfig
from hf_motion.tokenizer import MotionTokenizer

TASKS = [
    {"name": "style", "kind": "multiclass", "classes": ["normal", "elderly", "exhausted"]},
    {"name": "screen", "kind": "binary", "column": "style", "positive": ["elderly", "exhausted"], "negative": ["normal"]},
    {"name": "score", "kind": "regression"},
]
FOLD_METRICS = {
    "style": {"accuracy": {"mean": 0.61234, "std": 0.0521, "n_folds": 5}, "macro_f1": {"mean": 0.55, "std": 0.06, "n_folds": 5}},
    "screen": {"auc": {"mean": 0.9, "std": 0.05, "n_folds": 4}, "f1": {"mean": 0.8, "std": 0.1, "n_folds": 5},
               "accuracy": {"mean": 0.85, "std": 0.07, "n_folds": 5}},
    "score": {"rmse": {"mean": 1.25, "std": 0.3, "n_folds": 5}},
}  # fmt: skip


@pytest.fixture(scope="module")
def tok():
    return MotionTokenizer()


@pytest.fixture(scope="module")
def model(tok):
    torch.manual_seed(0)
    targets = [{"name": "style", "kind": "multiclass", "num_classes": 3}, {"name": "screen", "kind": "binary"},
               {"name": "score", "kind": "regression"}]  # fmt: skip
    cfg = MotionMultiTaskConfig.from_backbone_config(
        motion_gpt2_config("tiny", tok, initializer_range=0.3), targets=targets, head_dropout=0.0
    )
    return MotionGPT2ForMultiTask(cfg).eval()


@pytest.fixture(scope="module")
def walk_ids(tok, walk_motion):
    m = walk_motion.select_joints(["Hips", "Spine", "Chest", "Neck", "Head"]).slice(0, 40, 10)
    return torch.as_tensor(tok.encode_motion(angles=m.rotations, task=">"))[None]


def _card(model, tok, **kw):
    args = dict(
        tasks=TASKS,
        fold_metrics=FOLD_METRICS,
        cv_description="5-fold grouped cross-validation",
        model=model,
        tokenizer=tok,
        base_model="runs/pretrain/final",
        task_sizes={"style": 120, "screen": 80, "score": 60},
        comparisons={"random forest": {"style": {"accuracy": {"mean": 0.7, "std": 0.04, "n_folds": 5}}}},
    )
    args.update(kw)
    return build_model_card("motion-gpt2-tiny-bandai", **args)


def test_card_fills_itself_and_validates_offline(model, tok):
    card = _card(model, tok)
    results = validate_model_card(card)
    expected = eval_results_from_fold_metrics(
        FOLD_METRICS, TASKS, dataset_name="Bandai-Namco-Research-Motiondataset", dataset_id="bandai-namco-motion",
        cv_description="5-fold grouped cross-validation",
    )  # fmt: skip
    assert results == expected and len(results) == 6
    meta = yaml.safe_load(str(card).split("---")[1])
    # The model-index is exactly what huggingface_hub writes for these results, one entry per task.
    assert meta["model-index"] == eval_results_to_model_index("motion-gpt2-tiny-bandai", results)
    assert [r["dataset"]["config"] for r in meta["model-index"][0]["results"]] == ["style", "screen", "score"]
    by_key = {(r.dataset_config, r.metric_name.split(" ")[0]): r for r in results}
    assert by_key[("style", "accuracy")].metric_value == 0.6123
    assert by_key[("screen", "auc")].metric_type == "roc_auc" and by_key[("screen", "auc")].metric_args == {"std": 0.05, "n_folds": 4}
    assert by_key[("score", "rmse")].metric_value == 1.25
    assert meta["license"] == "cc-by-nc-4.0" and meta["library_name"] == "transformers"
    assert "base_model" not in meta  # a local path is described, not put in the Hub metadata

    text = card.text
    assert "Not a medical device" in text and "Stand-in data" in text and "not patients" in text and "Small samples" in text
    assert "0.612 ± 0.052 (5)" in text and "0.700 ± 0.040 (5)" in text  # this model and the comparison
    assert "5-fold grouped cross-validation" in text and "`runs/pretrain/final`" in text
    assert f"| transformers | {transformers.__version__} |" in text and f"| torch | {torch.__version__} |" in text
    assert "elderly/exhausted" in text or "['elderly', 'exhausted']" in text
    assert f"| parameters | {sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()):,} |" in text


def test_early_stopping_note_and_data_provenance(model, tok):
    assert "Early stopping used a validation split" not in _card(model, tok).text
    card = _card(model, tok, early_stopping=True)
    assert "Early stopping used a validation split" in card.text
    assert "arXiv:2306.08861" in card.text  # the Bandai-Namco citation in the Data section
    other = _card(model, tok, dataset_name="Gait lab cohort", dataset_id="gait-lab", data_caveat=None)
    assert "arXiv:2306.08861" not in other.text and "Gait lab cohort." in other.text
    validate_model_card(other)


def test_pretrained_card_without_results(model, tok):
    card = build_model_card("motion-gpt2-tiny", model=model, tokenizer=tok, template="motion_pretrained", tasks=[{"name": "x", "kind": "binary"}])
    assert "model-index" not in str(card)
    assert validate_model_card(card, require_results=False) == []
    with pytest.raises(ModelCardError, match="no 'model-index'"):
        validate_model_card(card)


def test_hub_base_model_goes_into_the_metadata(model, tok):
    card = _card(model, tok, base_model="someone/motion-gpt2-m5-1m", data_caveat=None)
    assert card.data.base_model == "someone/motion-gpt2-m5-1m"
    assert "Stand-in data" not in card.text
    validate_model_card(card)


def test_card_from_a_run_summary(tmp_path):
    summary = {
        "data": "bandai-namco:dataset-2",
        "n_clips": 300,
        "n_groups": 70,
        "cv": {"description": "leave-one-group-out (70 folds)"},
        "tasks": {
            "screen": {"kind": "binary", "column": "style", "positive": ["elderly"], "negative": ["normal"], "n_clips": 90,
                       "metrics": {"auc": {"mean": float("nan"), "std": float("nan"), "n_folds": 0},
                                   "accuracy": {"mean": 0.8, "std": 0.4, "n_folds": 70}}},
        },
    }  # fmt: skip
    path = tmp_path / "summary.json"
    import json

    path.write_text(json.dumps(summary))
    card = model_card_from_summary(path, "rf-baseline")
    results = validate_model_card(card)
    assert [(r.metric_type, r.metric_value, r.dataset_split) for r in results] == [
        ("accuracy", 0.8, "leave-one-group-out (70 folds)")
    ]  # AUC was undefined on every fold: left out of the model-index, shown as n/a
    assert "| screen | auc | n/a |" in card.text and "300 clips in 70 groups" in card.text


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.pop("model-index"), "no 'model-index'"),
        (lambda m: m["model-index"][0]["results"][0].pop("dataset"), "huggingface_hub rejects|does not parse"),
        (lambda m: m["model-index"][0]["results"][0]["metrics"][0].update(value=float("nan")), "not a finite number"),
        (lambda m: m["model-index"][0]["results"][0]["metrics"][0].update(value="high"), "not a finite number"),
        (lambda m: m.pop("license"), "no 'license'"),
        (lambda m: m["model-index"][0]["results"][0]["metrics"][0].update(colour="red"), "does not round-trip"),
    ],
)
def test_invalid_cards_are_caught(model, tok, edit, message):
    card = _card(model, tok)
    meta = yaml.safe_load(str(card).split("---")[1])
    edit(meta)
    broken = "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + card.text
    with pytest.raises(ModelCardError, match=message):
        validate_model_card(broken)


def test_card_errors(model, tok):
    with pytest.raises(ModelCardError, match="not among the tasks"):
        _card(model, tok, fold_metrics={"gait": {"accuracy": {"mean": 0.5, "std": 0.1, "n_folds": 3}}})
    with pytest.raises(ModelCardError, match="template 'nope' not found"):
        _card(model, tok, template="nope")
    with pytest.raises(ModelCardError, match="no YAML metadata"):
        validate_model_card("# just text\n")


def test_save_for_hub_reloads_with_auto_classes(model, tok, walk_ids, tmp_path):
    card = _card(model, tok)
    folder = save_for_hub(model, tok, card, tmp_path / "repo")
    files = check_hub_folder(folder)
    assert {"README.md", "config.json", "model.safetensors", "tokenizer_config.json"} <= set(files)
    assert not any(f.endswith((".bin", ".pt", ".pth", ".ckpt")) for f in files)
    assert (folder / "README.md").read_text() == str(card)
    assert validate_model_card(folder / "README.md") == validate_model_card(card)

    loaded = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tok2 = AutoTokenizer.from_pretrained(folder)
    assert type(loaded) is MotionGPT2ForMultiTask and type(tok2) is MotionTokenizer
    m = np.zeros((3, 5, 3))
    assert np.array_equal(tok2.encode_motion(angles=m, task=">"), tok.encode_motion(angles=m, task=">"))
    with torch.no_grad():
        assert torch.equal(loaded(walk_ids).logits, model(walk_ids).logits)
    assert ModelCard.load(folder / "README.md").data.model_name == "motion-gpt2-tiny-bandai"

    with pytest.raises(FileExistsError):
        save_for_hub(model, tok, card, folder)
    with pytest.raises(ModelCardError, match="needs the tokenizer"):
        save_for_hub(model, None, card, tmp_path / "other")


class _FakeHub:
    """Records create_repo / upload_folder calls and what the uploaded folder held at that moment."""

    def __init__(self, monkeypatch):
        self.calls = []
        hub = self

        def create_repo(self, repo_id, **kwargs):
            hub.calls.append(("create_repo", repo_id, kwargs))
            return f"https://huggingface.co/{repo_id}"

        def upload_folder(self, *, repo_id, folder_path, **kwargs):
            from pathlib import Path

            root = Path(folder_path)
            files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
            hub.calls.append(("upload_folder", repo_id, {**kwargs, "files": files, "readme": (root / "README.md").read_text()}))
            return "commit-info"

        monkeypatch.setattr(HfApi, "create_repo", create_repo)
        monkeypatch.setattr(HfApi, "upload_folder", upload_folder)


@pytest.mark.parametrize("source", ["folder", "objects"])
def test_push_to_hub_is_one_commit_with_everything(model, tok, tmp_path, monkeypatch, source):
    fake = _FakeHub(monkeypatch)
    card = _card(model, tok)
    if source == "folder":
        src = save_for_hub(model, tok, card, tmp_path / "repo")
    else:
        src = (model, tok, card)
    result = push_to_hub(src, "someone/motion-gpt2-tiny", private=True, commit_message="first model")
    assert result == "commit-info"
    assert [c[0] for c in fake.calls] == ["create_repo", "upload_folder"]
    assert fake.calls[0][1] == "someone/motion-gpt2-tiny" and fake.calls[0][2]["exist_ok"] is True
    assert fake.calls[0][2]["private"] is True
    _, repo_id, kwargs = fake.calls[1]
    assert repo_id == "someone/motion-gpt2-tiny" and kwargs["commit_message"] == "first model"
    assert kwargs["repo_type"] == "model"
    assert {"README.md", "config.json", "model.safetensors", "tokenizer_config.json"} <= set(kwargs["files"])
    assert not any(f.endswith(".bin") for f in kwargs["files"])
    assert kwargs["readme"] == str(card)


def test_push_to_hub_refuses_bad_input_before_uploading(model, tok, tmp_path, monkeypatch):
    fake = _FakeHub(monkeypatch)
    folder = save_for_hub(model, tok, _card(model, tok), tmp_path / "repo")
    with pytest.raises(ModelCardError, match="owner/name"):
        push_to_hub(folder, "no-owner")
    (folder / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelCardError, match="pickled weight files"):
        push_to_hub(folder, "someone/x")
    (folder / "pytorch_model.bin").unlink()
    (folder / "tokenizer_config.json").unlink()
    with pytest.raises(ModelCardError, match="tokenizer_config.json"):
        push_to_hub(folder, "someone/x")
    assert fake.calls == []
