"""Model cards (filled from a run, validated offline) and the Hub path: save the repo folder,
reload it with the Auto classes, push in one commit (HfApi patched, no network). Cards claim only
what the run used (data notes, licence, Hub base model), and their "How to use" code runs on a
real clip."""

from __future__ import annotations

import re
from pathlib import Path

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
    DEFAULT_DATA_CAVEAT,
    TEMPLATE_DIR,
    ModelCardError,
    build_model_card,
    check_hub_folder,
    dataset_ids_from_sources,
    eval_results_from_fold_metrics,
    model_card_from_summary,
    push_to_hub,
    save_for_hub,
    validate_model_card,
)
from hf_motion.modeling import motion_gpt2_config
from hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask, MotionMultiTaskConfig
from hf_motion.tokenizer import MotionTokenizer

from conftest import tiny_lm

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


def text_of(card, heading: str) -> str:
    """The body of the card section ``## heading`` (up to the next ``## ``)."""
    body = str(card).split(f"\n## {heading}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def _card(model, tok, **kw):
    args = dict(
        tasks=TASKS,
        fold_metrics=FOLD_METRICS,
        cv_description="5-fold grouped cross-validation",
        model=model,
        tokenizer=tok,
        base_model="runs/pretrain/final",
        data_sources="bandai-namco:dataset-2",
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
    # Loading needs hf_motion's classes: the card says so in its metadata and in "How to use".
    assert meta["license"] == "cc-by-nc-4.0" and meta["library_name"] == "hf_motion"
    assert "import hf_motion" in text_of(card, "How to use") and "Loading needs the `hf_motion` library" in card.text
    assert "base_model" not in meta  # a local path is described, not put in the Hub metadata
    assert "runs/pretrain" not in str(card) and "a local pretraining checkpoint" in card.text

    text = card.text
    assert "Not a medical device" in text and "Stand-in data" in text and "not patients" in text and "Small samples" in text
    assert "0.612 ± 0.052 (5)" in text and "0.700 ± 0.040 (5)" in text  # this model and the comparison
    assert "5-fold grouped cross-validation" in text
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
    assert other.data.license == "other" and "CC BY-NC" not in str(other)  # no claim about the user's data
    assert [r.dataset_type for r in validate_model_card(other)] == ["gait-lab"] * 6


def test_pretrained_card_without_results(model, tok):
    card = build_model_card(
        "motion-gpt2-tiny", model=model, tokenizer=tok, template="motion_pretrained", tasks=[{"name": "x", "kind": "binary"}]
    )
    assert "model-index" not in str(card)
    assert validate_model_card(card, require_results=False) == []
    with pytest.raises(ModelCardError, match="no 'model-index'"):
        validate_model_card(card)


def test_hub_base_model_goes_into_the_metadata(model, tok):
    card = _card(model, tok, base_model="someone/motion-gpt2-m5-1m", data_caveat=None)
    assert card.data.base_model == "someone/motion-gpt2-m5-1m"
    assert "[`someone/motion-gpt2-m5-1m`](https://huggingface.co/someone/motion-gpt2-m5-1m)" in card.text
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


# --------------------------------------------------------------- what the run used
def test_data_sources_map_to_known_data_sets_only():
    assert dataset_ids_from_sources("bandai-namco:dataset-1,dataset-2") == ["bandai-namco-motion"]
    assert dataset_ids_from_sources(["bandai-namco", "/data/lab/gait", "/mnt/x/bandai-namco-motion/dataset-1/data"]) == [
        "bandai-namco-motion",
        None,
        "bandai-namco-motion",
    ]
    assert dataset_ids_from_sources(Path("bandai-namco-dump")) == [None]  # a folder name that merely starts alike
    assert dataset_ids_from_sources(None) == []


@pytest.mark.parametrize("sources", [None, "/home/someone/gait-study", ["/home/someone/gait-study"]])
def test_user_data_cards_claim_no_bandai_data_or_licence(model, tok, sources):
    card = _card(model, tok, data_sources=sources, base_model="/home/someone/runs/pretrain/final")
    text = str(card)
    assert card.data.license == "other" and "cc-by-nc" not in text.lower() and "CC BY-NC" not in text
    assert "Bandai" not in text and "arXiv:2306.08861" not in text and "Stand-in data" not in text
    assert "User-supplied motion data" in text_of(card, "Data") and "pass `license=`" in text
    assert "/home/someone" not in text  # neither the data folder nor the base model's path is published
    assert {r.dataset_type for r in validate_model_card(card)} == {"user-supplied"}
    assert _card(model, tok, data_sources=sources, license="apache-2.0").data.license == "apache-2.0"  # the caller's wins


def test_bandai_data_bring_their_notes_licence_and_caveat(model, tok):
    for sources in ("bandai-namco:dataset-2", "/mnt/data/bandai-namco-motion/dataset-1/data"):
        card = _card(model, tok, data_sources=sources)
        assert card.data.license == "cc-by-nc-4.0" and "arXiv:2306.08861" in text_of(card, "Data")
        assert DEFAULT_DATA_CAVEAT in card.text
        assert {r.dataset_type for r in validate_model_card(card)} == {"bandai-namco-motion"}
    mixed = _card(model, tok, data_sources=["bandai-namco:dataset-1", "/lab/gait"])
    data = text_of(mixed, "Data")
    assert "arXiv:2306.08861" in data and "User-supplied motion data" in data
    assert mixed.data.license == "other"  # Bandai's terms plus unknown ones: no single licence to claim
    assert {r.dataset_type for r in validate_model_card(mixed)} == {"bandai-namco-motion+user-supplied"}
    assert "Stand-in data" not in _card(model, tok, data_caveat=None).text


def test_card_from_a_folder_run_summary_keeps_paths_out(tmp_path):
    summary = {
        "data": "/home/someone/gait-study/bvh",
        "n_clips": 12,
        "n_groups": 4,
        "settings": {"fps": 15.0, "window": 30},
        "pretraining": {"preset": "m5-1m", "steps": 20000, "sources": ["bandai-namco:dataset-1", "/home/someone/extra"]},
        "tasks": {"screen": {"kind": "binary", "n_clips": 12, "metrics": {"accuracy": {"mean": 0.75, "std": 0.1, "n_folds": 4}}}},
    }
    card = model_card_from_summary(summary, "gait-screen", base_model="/home/someone/runs/pretrain")
    text = str(card)
    assert "/home/someone" not in text and "a local folder of motion files, 12 clips in 4 groups" in text
    assert ("a local hf_motion pretraining checkpoint (preset `m5-1m`, 20,000 steps on `bandai-namco:dataset-1`, "
            "a local folder of motion files)") in text  # fmt: skip
    assert card.data.license == "other" and "arXiv" not in text
    usage = text_of(card, "How to use")
    assert "hf_motion.resample_motion(motion, 15)" in usage and "motion.rotations[:30]" in usage
    validate_model_card(card)


def test_templates_ship_inside_the_package(model, tok, tmp_path):
    from hf_motion import resources

    assert TEMPLATE_DIR == Path(hf_motion.__file__).resolve().parent / "assets" / "model_cards"
    assert resources.card_template_names() == ["motion_finetuned", "motion_pretrained"]
    assert resources.card_template_path("motion_pretrained.md") == TEMPLATE_DIR / "motion_pretrained.md"
    with pytest.raises(ModelCardError, match=r"template 'nope' not found.*available: \['motion_finetuned', 'motion_pretrained'\]"):
        _card(model, tok, template="nope")
    with pytest.raises(ModelCardError, match="missing.md is not a file"):
        _card(model, tok, template=tmp_path / "missing.md")
    own = tmp_path / "mine.md"  # a user's own template path still works
    own.write_text("---\n{{ card_data }}\n---\n\n# {{ model_name }} by us\n\n{{ data_text }}\n", encoding="utf-8")
    card = _card(model, tok, template=own)
    assert card.text.startswith("\n# motion-gpt2-tiny-bandai by us") and "arXiv:2306.08861" in card.text


# --------------------------------------------------------------- "How to use" runs on a real clip
JOINTS = ["Hips", "Spine", "Chest", "Neck", "Head"]


def _snippet(card, repo: str, folder: Path, clip: Path) -> str:
    """The card's python block with the repo id and the clip replaced by real paths."""
    blocks = re.findall(r"```python\n(.*?)```", text_of(card, "How to use"), flags=re.S)
    assert len(blocks) == 1, blocks
    code = blocks[0]
    assert code.count(f'"{repo}"') == 2 and code.count('"clip.bvh"') == 1, code
    return code.replace(f'"{repo}"', repr(str(folder))).replace('"clip.bvh"', repr(str(clip)))


def test_pretrained_card_usage_code_predicts_a_real_clip(tmp_path, bandai_paths):
    tok = MotionTokenizer(joint_names=JOINTS)
    lm = tiny_lm(tok)
    card = build_model_card("someone/motion-lm-tiny", model=lm, tokenizer=tok, template="motion_pretrained",
                            data_sources=["bandai-namco:dataset-1"], fps=10, window=24)  # fmt: skip
    validate_model_card(card, require_results=False)
    folder = save_for_hub(lm, tok, card, tmp_path / "lm")
    clip = bandai_paths[0]
    ns: dict = {}
    exec(compile(_snippet(card, "someone/motion-lm-tiny", folder, clip), "README.md", "exec"), ns)
    future, context = ns["future"], ns["context"]
    assert isinstance(future, hf_motion.Motion) and future.skeleton.names == JOINTS
    assert future.fps == pytest.approx(10.0) and future.num_frames == 4  # 0.4 s at the training frame rate
    assert context.num_frames == 24 and np.isfinite(future.rotations).all()
    # The snippet read the last 24 frames at 10 fps: the same as resampling the clip by hand.
    by_hand = hf_motion.resample_motion(hf_motion.load_bvh(clip), 10).select_joints(JOINTS)
    assert np.allclose(context.rotations, by_hand.rotations[-24:])


def test_finetuned_card_usage_code_classifies_a_real_clip(tmp_path, bandai_paths):
    torch.manual_seed(0)
    tok = MotionTokenizer(joint_names=JOINTS)
    targets = [{"name": "style", "kind": "multiclass", "num_classes": 3}, {"name": "screen", "kind": "binary"},
               {"name": "score", "kind": "regression"}]  # fmt: skip
    cfg = MotionMultiTaskConfig.from_backbone_config(motion_gpt2_config("tiny", tok, initializer_range=0.3), targets=targets)
    clf = MotionGPT2ForMultiTask(cfg).eval()
    summary = {"data": "bandai-namco:dataset-1", "n_clips": 30, "n_groups": 5, "settings": {"fps": 10.0, "window": 16},
               "tasks": {"screen": {"kind": "binary", "metrics": {"auc": {"mean": 0.7, "std": 0.1, "n_folds": 5}}}}}  # fmt: skip
    card = model_card_from_summary(summary, "clf-tiny", model=clf, tokenizer=tok, repo_id="someone/clf-tiny")
    validate_model_card(card)
    folder = save_for_hub(clf, tok, card, tmp_path / "clf")
    clip = bandai_paths[2]
    ns: dict = {}
    exec(compile(_snippet(card, "someone/clf-tiny", folder, clip), "README.md", "exec"), ns)
    predictions = ns["predictions"]
    assert sorted(predictions) == ["score", "screen", "style"]
    assert predictions["style"].shape == (1, 3) and np.allclose(predictions["style"].sum(-1), 1.0)
    assert 0.0 <= float(predictions["screen"][0]) <= 1.0
    # The same window encoded by hand gives the same outputs: the snippet reads motion as in training.
    motion = hf_motion.resample_motion(hf_motion.load_bvh(clip), 10).select_joints(JOINTS)
    ids = torch.as_tensor(tok.encode_motion(angles=motion.rotations[:16], task=">"))[None]
    with torch.no_grad():
        expected = clf.predictions(clf(input_ids=ids).logits)
    for name in expected:
        assert np.allclose(predictions[name], expected[name], atol=1e-6)


# ------------------------------------------------------------------ card data filled by a TrainerCallback
def test_card_callback_fills_the_card_during_training_and_writes_checkpoint_cards(tmp_path, walk_motion):
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from hf_motion.model_card import ModelCardCallback, MotionCardData

    tok = MotionTokenizer(joint_names=JOINTS)
    motion = walk_motion.select_joints(JOINTS)
    rows = [
        {"input_ids": (ids := tok.encode_motion(angles=motion.rotations[s : s + 4], task=">").tolist()), "labels": ids}
        for s in range(0, 40, 4)
    ]
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=4, save_steps=2, logging_steps=1, learning_rate=1e-3,
        per_device_train_batch_size=2, report_to=[], disable_tqdm=True, seed=7, use_cpu=True,
    )  # fmt: skip
    data = MotionCardData("walk-lm", data_sources=["bandai-namco:dataset-1"], fps=10, window=4)
    trainer = Trainer(
        model=tiny_lm(tok).train(), args=args, train_dataset=rows,
        data_collator=DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100),
        callbacks=[ModelCardCallback(data, tok)],
    )  # fmt: skip
    trainer.train()
    logged = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert data.training["learning rate"] == 1e-3 and data.training["batch size (all devices)"] == 2
    assert data.training["seed"] == 7 and data.training["steps"] == 4 == trainer.state.global_step
    assert data.training["last training loss"] == round(logged[-1], 4)
    # Every checkpoint explains itself: its card says how far the run was when it was saved.
    for step in (2, 4):
        card = (tmp_path / "run" / f"checkpoint-{step}" / "README.md").read_text()
        assert re.search(rf"\|\s*steps\s*\|\s*{step}\s*\|", card), card
        assert "| learning rate | 0.001 |" in card.replace("  ", " ")
    final = data.to_card(model=trainer.model, tokenizer=tok)
    validate_model_card(final, require_results=False)
    assert final.data.library_name == "hf_motion"
