"""The pretraining recipe on real Bandai clips with a tiny model: loss falls, resume is exact,
checkpoints are atomic."""

import json
import math
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from hf_motion.recipe_args import import_recipe

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pretrain():
    return import_recipe(REPO / "recipes" / "pretrain.py")


def args(out, cache, **over):
    base = dict(
        output_dir=str(out), cache_dir=str(cache), max_clips=12, window=4, stride=4, context_length=512, max_steps=8,
        per_device_train_batch_size=4, per_device_eval_batch_size=8, learning_rate=3e-3, warmup_steps=0,
        logging_steps=1, eval_steps=100, save_steps=4, num_proc=1, disable_tqdm=True, seed=7,
    )
    base.update(over)
    argv = []
    for k, v in base.items():
        argv += [f"--{k}", str(v)]
    return argv



class Crash(TrainerCallback):
    """Simulates a kill: raises after ``at`` optimizer steps."""

    def __init__(self, at):
        self.at = at

    def on_step_end(self, args, state, control, **kw):
        if state.global_step == self.at:
            raise KeyboardInterrupt(f"simulated kill at step {self.at}")


def step_losses(history):
    return {h["step"]: h["loss"] for h in history if "loss" in h}


def test_loss_falls_and_model_reloads(pretrain, tmp_path):
    out = tmp_path / "run"
    summary = pretrain.main(args(out, tmp_path / "cache", max_steps=30, eval_steps=30, save_steps=30))
    assert summary["steps"] == 30
    assert summary["final_eval_bits_per_frame"] < summary["initial_eval_bits_per_frame"] - 20
    assert summary["last_logged_loss"] < summary["first_logged_loss"] - 0.5
    # bits per frame is the per-token loss in bits times tokens per frame (17 joints x 3 + separator)
    assert summary["tokens_per_frame"] == 52
    assert math.isclose(summary["final_eval_bits_per_frame"], summary["final_eval_loss"] / math.log(2) * 52, rel_tol=1e-6)
    import hf_motion  # noqa: F401

    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert type(model).__name__ == "MotionGPT2ForCausalLM" and type(tok).__name__ == "MotionTokenizer"
    assert not list(out.glob("*.bin")) or [p.name for p in out.glob("*.bin")] == ["training_args.bin"]
    assert (out / "model.safetensors").is_file()


def test_resume_after_a_kill_continues_the_same_loss_curve(pretrain, tmp_path):
    cache = tmp_path / "cache"
    straight = tmp_path / "straight"
    pretrain.main(args(straight, cache))
    ref = step_losses(json.loads((straight / "checkpoint-8" / "trainer_state.json").read_text())["log_history"])

    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        pretrain.main(args(killed, cache), callbacks=[Crash(6)])
    assert sorted(p.name for p in killed.glob("checkpoint-*")) == ["checkpoint-4"]
    summary = pretrain.main(args(killed, cache))
    assert summary["resumed_from"].endswith("checkpoint-4")
    resumed = step_losses(json.loads((killed / "checkpoint-8" / "trainer_state.json").read_text())["log_history"])
    assert sorted(resumed) == list(range(1, 9))
    for step in range(1, 9):
        assert resumed[step] == pytest.approx(ref[step], rel=1e-5), step


def test_a_checkpoint_interrupted_while_saving_is_never_trusted(pretrain, tmp_path, monkeypatch):
    out = tmp_path / "run"
    calls = {"n": 0}
    original = pretrain.MotionTrainer._save_rng_state

    def flaky(self, output_dir):
        calls["n"] += 1
        if calls["n"] == 2:  # the second checkpoint dies half-written
            raise KeyboardInterrupt("killed while saving")
        return original(self, output_dir)

    monkeypatch.setattr(pretrain.MotionTrainer, "_save_rng_state", flaky)
    with pytest.raises(KeyboardInterrupt):
        pretrain.main(args(out, tmp_path / "cache"))
    # checkpoint-8 was half written under the staging folder, never under its real name.
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-4"]
    monkeypatch.setattr(pretrain.MotionTrainer, "_save_rng_state", original)
    summary = pretrain.main(args(out, tmp_path / "cache"))
    assert summary["resumed_from"].endswith("checkpoint-4") and summary["steps"] == 8
