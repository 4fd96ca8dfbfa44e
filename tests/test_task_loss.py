"""Per-task loss weights: the weighted loss against a plain per-task cross-entropy computed here,
and the pretraining recipe passing the builder's per-token task column through to the loss."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from hf_motion.task_loss import parse_task_loss_weights, task_weighted_lm_loss

REPO = Path(__file__).resolve().parents[1]
TASKS = ["acm", "pcm", "fk", "ik"]


def test_weights_parse_with_defaults_and_clear_errors():
    assert parse_task_loss_weights("", TASKS) is None
    assert parse_task_loss_weights("acm=1", TASKS) is None  # all ones: the plain loss
    assert parse_task_loss_weights("acm=2, ik=0.5", TASKS) == [2.0, 1.0, 1.0, 0.5]
    assert parse_task_loss_weights({"pcm": 0}, TASKS) == [1.0, 0.0, 1.0, 1.0]
    for spec, msg in [("walk=2", r"not among the trained tasks \['acm'"), ("acm", "expected task=weight"),
                      ("acm=x", "'x' is not a number"), ("acm=-1", ">= 0"), ("acm=inf", ">= 0"),
                      ("acm=1,acm=2", "twice"), ("acm=0,pcm=0,fk=0,ik=0", "nothing would be trained")]:  # fmt: skip
        with pytest.raises(ValueError, match=msg):
            parse_task_loss_weights(spec, TASKS)


def test_weighted_loss_is_the_weighted_mean_of_per_token_cross_entropy():
    torch.manual_seed(0)
    B, L, V = 3, 11, 7
    logits = torch.randn(B, L, V)
    labels = torch.randint(0, V, (B, L))
    labels[0, 4] = -100
    task = torch.randint(0, 4, (B, L))
    # Equal weights: transformers' causal-LM loss (shifted mean cross-entropy).
    plain = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    torch.testing.assert_close(task_weighted_lm_loss(logits, labels, task, [1, 1, 1, 1]), plain)
    # One task only: the mean cross-entropy over that task's target tokens.
    target_task = task[:, 1:].reshape(-1)
    keep = (target_task == 2) & (labels[:, 1:].reshape(-1) != -100)
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100, reduction="none")
    torch.testing.assert_close(task_weighted_lm_loss(logits, labels, task, [0, 0, 1, 0]), ce[keep].mean())
    # Weight 3 on one task equals tripling its tokens' share.
    w = torch.tensor([1.0, 3.0, 1.0, 1.0])[target_task] * (labels[:, 1:].reshape(-1) != -100)
    torch.testing.assert_close(task_weighted_lm_loss(logits, labels, task, [1, 3, 1, 1]), (ce * w).sum() / w.sum())
    with pytest.raises(ValueError, match="outside"):
        task_weighted_lm_loss(logits, labels, task, [1, 1])
    with pytest.raises(ValueError, match="must share"):
        task_weighted_lm_loss(logits, labels[:, :-1], task, [1, 1, 1, 1])


def test_pretraining_uses_the_weights_in_training_only(tmp_path):
    from hf_motion.scripts.pretrain import cli

    def run(name, *extra):
        argv = ["--output_dir", str(tmp_path / name), "--cache_dir", str(tmp_path / "cache"), "--max_clips", "8",
                "--window", "4", "--stride", "4", "--context_length", "256", "--max_steps", "1",
                "--per_device_train_batch_size", "2", "--logging_steps", "1", "--save_steps", "100",
                "--eval_steps", "100", "--num_proc", "1", "--disable_tqdm", "true", "--seed", "3", *extra]  # fmt: skip
        return cli(argv)

    plain = run("plain")
    ik_only = run("ik", "--task_loss_weights", "acm=0,pcm=0,fk=0")
    # Same init and batch: the training loss differs, the (unweighted) evaluation before training does not.
    assert ik_only["first_logged_loss"] != pytest.approx(plain["first_logged_loss"], rel=1e-4)
    assert ik_only["initial_eval_bits_per_frame"] == pytest.approx(plain["initial_eval_bits_per_frame"], rel=1e-6)
    with pytest.raises(ValueError, match="not among the trained tasks"):
        run("bad", "--task_loss_weights", "walk=1")
