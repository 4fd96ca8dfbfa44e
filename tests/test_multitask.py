"""Multi-task heads on the motion backbone: per-kind losses, missing labels, LM term, pooling,
loading from a pretraining checkpoint and the Auto-class round trip (tiny models, real motion)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

import hf_motion  # noqa: F401  (registers the Auto classes)
from hf_motion.modeling import MotionGPT2ForCausalLM, motion_gpt2_config
from hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask, MotionMultiTaskConfig, normalize_targets

from conftest import tiny_lm

JOINTS = ["Hips", "Spine", "Chest", "Neck", "Head"]
TARGETS = [
    {"name": "screen", "kind": "binary", "weight": 2.0},
    {"name": "style", "kind": "multiclass", "num_classes": 3},
    {"name": "score", "kind": "regression", "weight": 0.5},
]


@pytest.fixture(scope="module")
def batch(tok, bandai_motions):
    """Three real clips as causal motion text of different lengths, right-padded, with a mask."""
    rows = []
    for motion, frames in zip(bandai_motions[:3], (4, 3, 2)):
        m = motion.select_joints(JOINTS).slice(0, frames * 10, 10)
        rows.append(torch.as_tensor(tok.encode_motion(angles=m.rotations, task=">")))
    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), tok.pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask, rows


def _tiny(tok, targets=TARGETS, lm_loss_weight=0.0, seed=0, std=0.3, pooling="last"):
    torch.manual_seed(seed)
    backbone = motion_gpt2_config("tiny", tok, initializer_range=std)
    cfg = MotionMultiTaskConfig.from_backbone_config(backbone, targets=targets, lm_loss_weight=lm_loss_weight, head_dropout=0.0,
                                                     pooling=pooling)  # fmt: skip
    return MotionGPT2ForMultiTask(cfg).eval()


def _bce(z, y):
    p = 1.0 / (1.0 + math.exp(-z))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def _ce(row, k):
    row = np.asarray(row, dtype=np.float64)
    return float(np.log(np.exp(row - row.max()).sum()) + row.max() - row[k])


def test_loss_per_kind_matches_hand_computation(tok, batch):
    ids, mask, _ = batch
    model = _tiny(tok)
    labels = torch.tensor([[1.0, 2.0, 0.25], [0.0, 0.0, -1.5], [1.0, 1.0, 3.0]])
    with torch.no_grad():
        out = model(ids, attention_mask=mask, labels=labels)
    z = out.logits.double().numpy()
    assert z.shape == (3, 5)  # 1 binary + 3 classes + 1 regression
    lab = labels.double().numpy()
    bce = np.mean([_bce(z[i, 0], lab[i, 0]) for i in range(3)])
    ce = np.mean([_ce(z[i, 1:4], int(lab[i, 1])) for i in range(3)])
    mse = np.mean((z[:, 4] - lab[:, 2]) ** 2)
    assert out.target_losses["screen"].item() == pytest.approx(bce, rel=1e-5)
    assert out.target_losses["style"].item() == pytest.approx(ce, rel=1e-5)
    assert out.target_losses["score"].item() == pytest.approx(mse, rel=1e-5)
    assert out.loss.item() == pytest.approx(2.0 * bce + 1.0 * ce + 0.5 * mse, rel=1e-5)
    assert out.lm_loss is None

    # The mapping form gives the same losses.
    with torch.no_grad():
        out2 = model(ids, attention_mask=mask, labels={"screen": labels[:, 0], "style": labels[:, 1], "score": labels[:, 2]})
    assert out2.loss.item() == pytest.approx(out.loss.item(), rel=1e-6)


def test_missing_labels_are_masked(tok, batch):
    ids, mask, _ = batch
    model = _tiny(tok)
    nan = float("nan")
    # Row 1 has no screen label (NaN), row 0 no style label (-100); nobody has a score.
    labels = torch.tensor([[1.0, -100.0, nan], [nan, 2.0, nan], [0.0, 1.0, nan]])
    with torch.no_grad():
        out = model(ids, attention_mask=mask, labels=labels)
    z = out.logits.double().numpy()
    bce = np.mean([_bce(z[0, 0], 1.0), _bce(z[2, 0], 0.0)])
    ce = np.mean([_ce(z[1, 1:4], 2), _ce(z[2, 1:4], 1)])
    assert set(out.target_losses) == {"screen", "style"}  # no score labels at all: no score term
    assert out.loss.item() == pytest.approx(2.0 * bce + ce, rel=1e-5)

    # A target left out of a label mapping is missing for every row.
    with torch.no_grad():
        only = model(ids, attention_mask=mask, labels={"style": torch.tensor([1.0, 2.0, 0.0])})
    assert set(only.target_losses) == {"style"}
    assert only.loss.item() == pytest.approx(np.mean([_ce(z[i, 1:4], k) for i, k in enumerate((1, 2, 0))]), rel=1e-5)

    # Everything missing: loss 0, still differentiable.
    out = model(ids, attention_mask=mask, labels=torch.full((3, 3), nan))
    assert out.loss.item() == 0.0 and out.loss.requires_grad


def test_minus_100_is_a_value_for_regression(tok, batch):
    ids, mask, _ = batch
    model = _tiny(tok, targets=[{"name": "score", "kind": "regression"}])
    with torch.no_grad():
        out = model(ids, attention_mask=mask, labels=torch.tensor([-100.0, 0.0, 1.0]))
    z = out.logits[:, 0].double().numpy()
    assert out.loss.item() == pytest.approx(np.mean((z - np.array([-100.0, 0.0, 1.0])) ** 2), rel=1e-5)


@pytest.mark.parametrize(
    "labels, message",
    [
        (torch.tensor([[2.0, 0.0, 0.0]] * 3), "binary: labels must be 0, 1"),
        (torch.tensor([[1.0, 3.0, 0.0]] * 3), "has 3 classes"),
        (torch.tensor([[1.0, 0.5, 0.0]] * 3), "has 3 classes"),
        (torch.zeros(3, 2), r"labels must be \(batch, n_targets\) = \(3, 3\)"),
        ({"nope": torch.zeros(3)}, "unknown target"),
    ],
)
def test_bad_labels_raise(tok, batch, labels, message):
    ids, mask, _ = batch
    with pytest.raises(ValueError, match=message):
        _tiny(tok)(ids, attention_mask=mask, labels=labels)


def test_lm_weight_adds_the_lm_term(tok, batch):
    ids, mask, _ = batch
    labels = torch.tensor([[1.0, 2.0, 0.25], [0.0, 0.0, -1.5], [1.0, 1.0, 3.0]])
    without = _tiny(tok, lm_loss_weight=0.0)
    with_lm = _tiny(tok, lm_loss_weight=0.7)
    with_lm.load_state_dict(without.state_dict())
    with torch.no_grad():
        a = without(ids, attention_mask=mask, labels=labels)
        b = with_lm(ids, attention_mask=mask, labels=labels)
        # Independent LM loss: the causal LM with the same backbone, padding ignored.
        lm = MotionGPT2ForCausalLM(with_lm.config).eval()
        missing, unexpected = lm.load_state_dict(with_lm.state_dict(), strict=False)
        assert not missing and all(k.startswith("heads.") for k in unexpected)
        lm_labels = ids.masked_fill(mask == 0, -100)
        reference = lm(ids, attention_mask=mask, labels=lm_labels).loss.item()
    assert b.lm_loss.item() == pytest.approx(reference, rel=1e-5)
    assert b.loss.item() - a.loss.item() == pytest.approx(0.7 * reference, rel=1e-4)
    torch.testing.assert_close(a.logits, b.logits)


@pytest.mark.parametrize("side", ["right", "left"])
def test_pooling_uses_the_last_real_token(tok, batch, side):
    _, _, rows = batch
    model = _tiny(tok)
    short = rows[2]
    pad = torch.full((7,), tok.pad_token_id, dtype=torch.long)
    ids = torch.cat([short, pad]) if side == "right" else torch.cat([pad, short])
    mask = (torch.arange(len(ids)) < len(short)) if side == "right" else (torch.arange(len(ids)) >= 7)
    with torch.no_grad():
        alone = model(short[None]).logits
        padded = model(ids[None], attention_mask=mask.long()[None]).logits
        padded_no_mask = model(ids[None]).logits
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-4)
    if side == "right":
        # Without a mask the pad ids locate the last token; causal attention never looks right of it.
        torch.testing.assert_close(padded_no_mask, alone, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("side", ["right", "left"])
def test_mean_pooling_averages_the_real_tokens_only(tok, batch, side):
    _, _, rows = batch
    model = _tiny(tok, pooling="mean")
    short = rows[2]
    pad = torch.full((5,), tok.pad_token_id, dtype=torch.long)
    ids = torch.cat([short, pad]) if side == "right" else torch.cat([pad, short])
    mask = (ids != tok.pad_token_id).long()
    with torch.no_grad():
        alone = model(short[None], output_hidden_states=True)
        padded = model(ids[None], attention_mask=mask[None]).logits
        last = _tiny(tok, pooling="last")(short[None]).logits
    # The heads see the mean of the final hidden states, not the last token's.
    mean = alone.hidden_states[-1][0].mean(0)
    by_hand = torch.cat([model.heads[name](mean) for name in model.config.target_names])
    torch.testing.assert_close(alone.logits[0], by_hand, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(alone.logits, last, atol=1e-3)
    torch.testing.assert_close(padded, alone.logits, atol=1e-5, rtol=1e-4)


def test_pooling_is_validated_saved_and_overridable(tok, tmp_path):
    backbone = motion_gpt2_config("tiny", tok)
    with pytest.raises(ValueError, match=r"pooling must be one of \['last', 'mean', 'slot-statistics'\], got 'max'"):
        MotionMultiTaskConfig.from_backbone_config(backbone, targets=TARGETS, pooling="max")
    model = _tiny(tok, pooling="mean")
    model.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).pooling == "mean"
    assert MotionGPT2ForMultiTask.from_pretrained(tmp_path).config.pooling == "mean"
    assert MotionGPT2ForMultiTask.from_pretrained(tmp_path, pooling="last").config.pooling == "last"
    with pytest.raises(ValueError, match="pooling must be one of"):
        MotionGPT2ForMultiTask.from_pretrained(tmp_path, pooling="first")


def test_gradients_reach_heads_and_backbone_and_loss_falls(tok, batch):
    ids, mask, _ = batch
    model = _tiny(tok, lm_loss_weight=0.5, std=0.02).train()
    labels = torch.tensor([[1.0, 2.0, 0.25], [0.0, 0.0, -1.5], [1.0, 1.0, 3.0]])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = model(ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        losses.append(loss.item())
        opt.step()
    assert model.heads["style"].weight.grad.abs().sum() > 0
    assert model.transformer.h[0].attn.c_attn.weight.grad.abs().sum() > 0
    assert losses[-1] < 0.7 * losses[0]


def test_from_pretrained_keeps_the_backbone(tok, tmp_path):
    lm = tiny_lm(tok, seed=1, initializer_range=0.3)
    lm.save_pretrained(tmp_path / "lm")
    model = MotionGPT2ForMultiTask.from_pretrained(tmp_path / "lm", targets=TARGETS, lm_loss_weight=0.2)
    assert isinstance(model.config, MotionMultiTaskConfig) and model.config.lm_loss_weight == 0.2
    reference = lm.transformer.state_dict()
    loaded = model.transformer.state_dict()
    assert set(loaded) == set(reference)
    for name, value in reference.items():
        assert torch.equal(loaded[name], value), name
    assert torch.equal(model.lm_head.weight, lm.lm_head.weight)
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    assert model.heads["style"].weight.shape == (3, lm.config.n_embd)

    with pytest.raises(ValueError, match="without targets"):
        MotionGPT2ForMultiTask.from_pretrained(tmp_path / "lm")


def test_save_reload_predict_round_trip_with_auto_classes(tok, batch, tmp_path):
    ids, mask, _ = batch
    model = _tiny(tok, targets=[*TARGETS[:1], {**TARGETS[1], "classes": ["a", "b", "c"]}, TARGETS[2]], lm_loss_weight=0.3)
    model.save_pretrained(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "model.safetensors" in files and not any(f.endswith((".bin", ".pt")) for f in files)

    cfg = AutoConfig.from_pretrained(tmp_path)
    assert type(cfg) is MotionMultiTaskConfig and cfg.model_type == "motion_gpt2_multitask"
    assert cfg.targets == model.config.targets and cfg.targets[1]["classes"] == ["a", "b", "c"]
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert type(loaded) is MotionGPT2ForMultiTask
    labels = torch.tensor([[1.0, 2.0, 0.25], [0.0, 0.0, -1.5], [1.0, 1.0, 3.0]])
    with torch.no_grad():
        a = model(ids, attention_mask=mask, labels=labels)
        b = loaded(ids, attention_mask=mask, labels=labels)
    # Same weights, but a reloaded tensor's memory layout can pick another CPU kernel: equal to float rounding.
    torch.testing.assert_close(a.logits, b.logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(a.loss, b.loss, rtol=0, atol=1e-5)
    pa, pb = model.predictions(a.logits), loaded.predictions(b.logits)
    assert set(pa) == {"screen", "style", "score"}
    for name in pa:
        np.testing.assert_allclose(pa[name], pb[name], rtol=0, atol=1e-5)
    # predictions: sigmoid / softmax / identity of the split logits
    z = a.logits.numpy()
    np.testing.assert_allclose(pa["screen"], 1 / (1 + np.exp(-z[:, 0])), rtol=1e-6)
    np.testing.assert_allclose(pa["style"].sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(pa["score"], z[:, 4], rtol=1e-6)


@pytest.mark.parametrize(
    "targets, message",
    [
        ([{"name": "a", "kind": "ordinal"}], "kind must be one of"),
        ([{"name": "a", "kind": "multiclass"}], "num_classes >= 2"),
        ([{"name": "a", "kind": "binary"}, {"name": "a", "kind": "regression"}], "declared twice"),
        ([{"name": "a.b", "kind": "binary"}], "letters, digits"),
        ([{"name": "a", "kind": "binary", "weight": -1}], "weight must be"),
        ([{"name": "a", "kind": "regression", "num_classes": 2}], "one output"),
        ([{"name": "a", "kind": "binary", "colour": 1}], "unknown key"),
    ],
)
def test_bad_targets_raise(targets, message):
    with pytest.raises(ValueError, match=message):
        normalize_targets(targets)


def test_model_without_targets_raises(tok):
    cfg = MotionMultiTaskConfig.from_backbone_config(motion_gpt2_config("tiny", tok))
    with pytest.raises(ValueError, match="at least one target"):
        MotionGPT2ForMultiTask(cfg)


def test_trainer_trains_and_predicts_on_real_clips(tok, bandai_motions, tmp_path):
    """The Hugging Face Trainer drives the model: ``labels`` is its only label column, the per-target
    and LM losses stay out of the gathered predictions, which are the concatenated logits."""
    from transformers import Trainer, TrainingArguments

    rows = []
    for k, motion in enumerate(bandai_motions):
        for start in (0, 30):
            m = motion.select_joints(JOINTS).slice(start, start + 40, 10)
            ids = tok.encode_motion(angles=m.rotations, task=">").tolist()
            rows.append({"input_ids": ids, "labels": [float(k % 2), float(k % 3), float(start) / 30]})

    def collate(batch):
        length = max(len(r["input_ids"]) for r in batch)
        ids = torch.full((len(batch), length), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(batch):
            ids[i, : len(r["input_ids"])] = torch.as_tensor(r["input_ids"])
            mask[i, : len(r["input_ids"])] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([r["labels"] for r in batch])}

    model = _tiny(tok, lm_loss_weight=0.5, std=0.02)
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=4, per_device_eval_batch_size=3, max_steps=3,
        report_to=[], use_cpu=True, save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=rows, eval_dataset=rows, data_collator=collate)
    trainer.train()
    out = trainer.predict(rows)
    assert out.predictions.shape == (len(rows), model.config.num_outputs)
    np.testing.assert_array_equal(out.label_ids, np.array([r["labels"] for r in rows], dtype=np.float32))
    model.eval()
    with torch.no_grad():
        direct = model(**collate(rows[:3])).logits.numpy()
    np.testing.assert_allclose(out.predictions[:3], direct, rtol=1e-5, atol=1e-6)
    assert math.isfinite(out.metrics["test_loss"])


def test_bad_loss_weight_or_dropout_raise(tok):
    backbone = motion_gpt2_config("tiny", tok)
    with pytest.raises(ValueError, match="lm_loss_weight must be a finite number >= 0"):
        MotionMultiTaskConfig.from_backbone_config(backbone, targets=TARGETS, lm_loss_weight=-0.5)
    with pytest.raises(ValueError, match=r"head_dropout must be in \[0, 1\)"):
        MotionMultiTaskConfig.from_backbone_config(backbone, targets=TARGETS, head_dropout=1.5)


def test_multitask_needs_a_pad_id_distinct_from_eos(tok):
    backbone = motion_gpt2_config("tiny", tok, pad_token_id=tok.eos_token_id)
    cfg = MotionMultiTaskConfig.from_backbone_config(backbone, targets=TARGETS)
    with pytest.raises(ValueError, match="MotionGPT2ForMultiTask needs config.pad_token_id set and distinct"):
        MotionGPT2ForMultiTask(cfg)


def test_from_pretrained_refuses_a_backbone_that_does_not_fit(tok, tmp_path):
    import json

    tiny_lm(tok).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "use_frame_embeddings": False}))
    with pytest.raises(ValueError, match=r"frame_embeddings differ: check use_frame_embeddings=False"):
        MotionGPT2ForMultiTask.from_pretrained(tmp_path, targets=TARGETS)


def test_copy_path_backbone_loads_pools_and_trains(tok, batch, tmp_path):
    ids, mask, rows = batch
    torch.manual_seed(2)
    lm = MotionGPT2ForCausalLM(motion_gpt2_config("tiny", tok, initializer_range=0.3, use_previous_token_embeddings=True))
    lm.save_pretrained(tmp_path / "lm")
    model = MotionGPT2ForMultiTask.from_pretrained(tmp_path / "lm", targets=TARGETS, lm_loss_weight=0.5, head_dropout=0.0)
    assert model.config.use_previous_token_embeddings is True
    name = "previous_token_embeddings.weight"
    assert torch.equal(model.transformer.state_dict()[name], lm.transformer.state_dict()[name])
    model.eval()
    short = rows[2]
    pad = torch.full((7,), tok.pad_token_id, dtype=torch.long)
    with torch.no_grad():
        alone = model(short[None]).logits
        for padded, real in ((torch.cat([short, pad]), torch.arange(len(short) + 7) < len(short)),
                             (torch.cat([pad, short]), torch.arange(len(short) + 7) >= 7)):  # fmt: skip
            got = model(padded[None], attention_mask=real.long()[None]).logits
            torch.testing.assert_close(got, alone, atol=1e-5, rtol=1e-4)
        prev = model.transformer.previous_frame_token_ids(short[None])
        other = model(short[None], previous_token_ids=torch.full_like(prev, tok.pad_token_id)).logits
    assert (other - alone).abs().max() > 1e-3  # the copy path reaches the pooled representation

    model.train()
    labels = torch.tensor([[1.0, 2.0, 0.25], [0.0, 0.0, -1.5], [1.0, 1.0, 3.0]])
    out = model(ids, attention_mask=mask, labels=labels)
    out.loss.backward()
    assert model.transformer.previous_token_embeddings.weight.grad.abs().sum() > 0
