"""The pretraining recipe on real Bandai clips with a tiny model: loss falls, resume is exact,
checkpoints are atomic, a rerun with other settings never resumes another run's checkpoint."""

import json
import math
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

from hf_motion import training
from hf_motion.scripts import pretrain as pretrain_script

REPO = Path(__file__).resolve().parents[1]


def args(out, cache, **over):
    base = dict(
        output_dir=str(out),
        cache_dir=str(cache),
        max_clips=12,
        window=4,
        stride=4,
        context_length=512,
        max_steps=8,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=8,
        learning_rate=3e-3,
        warmup_steps=0,
        logging_steps=1,
        eval_steps=100,
        save_steps=4,
        num_proc=1,
        disable_tqdm=True,
        seed=7,
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


def test_loss_falls_and_model_reloads(tmp_path):
    out = tmp_path / "run"
    summary = pretrain_script.cli(args(out, tmp_path / "cache", max_steps=30, eval_steps=30, save_steps=30))
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
    # The default model has the copy and level paths, and its config says which ids are which levels.
    assert model.transformer.previous_token_embeddings is not None and model.transformer.level_embeddings is not None
    assert model.config.stream_levels == [tok.angle_quantizer.n_bins, tok.position_quantizer.n_bins]
    assert not list(out.glob("*.bin")) or [p.name for p in out.glob("*.bin")] == ["training_args.bin"]
    assert (out / "model.safetensors").is_file()
    # The tokenizer records the training skeleton's joints in token order (as select_joints orders them).
    from hf_motion.datasets import bandai_namco

    first = bandai_namco(subsets="dataset-1", progress=False)[0]
    expected = hf_motion.load_bvh(first.path).select_joints("bandai-core").skeleton.names
    assert tok.joint_names == expected == summary["joint_names"]
    # The input contract travels with the model (and with each checkpoint), not in the run log.
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(out)
    assert type(processor).__name__ == "MotionProcessor"
    assert (processor.fps, processor.window, processor.stride, processor.joints) == (10.0, 4, 4, expected)
    assert processor.tokens_per_frame == summary["tokens_per_frame"]
    assert AutoProcessor.from_pretrained(out / "checkpoint-30").to_dict() == processor.to_dict()
    batch = processor(first.path, return_tensors="pt")
    assert batch["input_ids"].shape[1] == 4 * 52 + 3  # <bos>, the task token ">", 4 frames of 52 tokens, <eos>
    with torch.no_grad():
        assert model(**{k: batch[k][:2] for k in ("input_ids", "attention_mask")}).logits.shape[0] == 2
    record = json.loads((out / "run_settings.json").read_text())
    assert record["settings"]["optimisation"]["learning_rate"] == 3e-3
    assert record["info"]["resumed_from"] is None
    # The default joints='auto' is resolved per skeleton while building (the files themselves are
    # fingerprinted in the record): the record holds the spec, the tokenizer the resolved names.
    assert summary["dataset"]["joints"] == "auto" and record["settings"]["data"]["joints"] == ["auto"]
    # The card names the data the run used (the default Bandai source, with its licence).
    card = (out / "README.md").read_text()
    assert "license: cc-by-nc-4.0" in card and "Sources: `bandai-namco:dataset-1`" in card


def test_resume_after_a_kill_continues_the_same_loss_curve(tmp_path):
    cache = tmp_path / "cache"
    straight = tmp_path / "straight"
    pretrain_script.cli(args(straight, cache))
    ref = step_losses(json.loads((straight / "checkpoint-8" / "trainer_state.json").read_text())["log_history"])

    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        pretrain_script.cli(args(killed, cache), callbacks=[Crash(6)])
    assert sorted(p.name for p in killed.glob("checkpoint-*")) == ["checkpoint-4"]
    summary = pretrain_script.cli(args(killed, cache))
    assert summary["resumed_from"].endswith("checkpoint-4")
    resumed = step_losses(json.loads((killed / "checkpoint-8" / "trainer_state.json").read_text())["log_history"])
    assert sorted(resumed) == list(range(1, 9))
    for step in range(1, 9):
        assert resumed[step] == pytest.approx(ref[step], rel=1e-5), step


def test_a_checkpoint_interrupted_while_saving_is_never_trusted(tmp_path, monkeypatch):
    out = tmp_path / "run"
    calls = {"n": 0}
    original = training.MotionTrainer._save_rng_state

    def flaky(self, output_dir):
        calls["n"] += 1
        if calls["n"] == 2:  # the second checkpoint dies half-written
            raise KeyboardInterrupt("killed while saving")
        return original(self, output_dir)

    monkeypatch.setattr(training.MotionTrainer, "_save_rng_state", flaky)
    with pytest.raises(KeyboardInterrupt):
        pretrain_script.cli(args(out, tmp_path / "cache"))
    # checkpoint-8 was half written under the staging folder, never under its real name.
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-4"]
    monkeypatch.setattr(training.MotionTrainer, "_save_rng_state", original)
    summary = pretrain_script.cli(args(out, tmp_path / "cache"))
    assert summary["resumed_from"].endswith("checkpoint-4") and summary["steps"] == 8


def tiny(out, cache, **over):
    """A one-clip-batch, few-step run (about a second)."""
    base = dict(max_clips=4, window=4, stride=4, context_length=256, max_steps=2, save_steps=1, eval_strategy="no",
                per_device_train_batch_size=2, report_to="none")  # fmt: skip
    base.update(over)
    return args(out, cache, **base)


def test_rerun_with_other_settings_is_refused_unless_asked(tmp_path):
    out, cache = tmp_path / "run", tmp_path / "cache"
    pretrain_script.cli(tiny(out, cache))
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    before = (out / "model.safetensors").read_bytes()
    with pytest.raises(training.OutputDirConflict) as info:
        pretrain_script.cli(tiny(out, cache, learning_rate=1e-3))
    msg = str(info.value)
    lines = [ln.strip() for ln in msg.splitlines() if ln.startswith("  ")]
    assert lines == ["optimisation.learning_rate: recorded 0.003, now 0.001"]
    assert f"--resume {out / 'checkpoint-2'}" in msg and "--overwrite_output_dir" in msg
    assert (out / "model.safetensors").read_bytes() == before  # nothing touched
    # Other data (fewer clips, another window) is refused the same way, naming those fields.
    with pytest.raises(training.OutputDirConflict, match=r"(?s)data\.max_clips: recorded 4, now 3.*data\.window: recorded 4, now 5"):
        pretrain_script.cli(tiny(out, cache, max_clips=3, window=5))
    # --resume no beside this run's checkpoints would mix two runs.
    with pytest.raises(training.OutputDirConflict, match="--resume no: .*--overwrite_output_dir"):
        pretrain_script.cli(tiny(out, cache, resume="no"))

    # Resuming checkpoint-1 with other settings beside the old run's later checkpoint-2 would let
    # a later --resume auto pick checkpoint-2: refused.
    with pytest.raises(training.OutputDirConflict, match=r"also holds checkpoint-2 .*--resume auto would pick checkpoint-2"):
        pretrain_script.cli(tiny(out, cache, learning_rate=1e-3, max_steps=3, resume=str(out / "checkpoint-1")))
    # Way out 1: resume a checkpoint explicitly, whatever the record says.
    summary = pretrain_script.cli(tiny(out, cache, learning_rate=1e-3, max_steps=3, resume=str(out / "checkpoint-2")))
    assert summary["resumed_from"] == str(out / "checkpoint-2") and summary["steps"] == 3
    record = json.loads((out / "run_settings.json").read_text())
    assert record["settings"]["optimisation"]["learning_rate"] == 1e-3
    assert any("learning_rate" in d for d in record["info"]["resumed_despite"])
    # The same command again now matches the record: it resumes its own last checkpoint.
    again = pretrain_script.cli(tiny(out, cache, learning_rate=1e-3, max_steps=3))
    assert again["resumed_from"] == str(out / "checkpoint-3")

    # Way out 2: start fresh; the previous run's checkpoints are gone.
    fresh = pretrain_script.cli(tiny(out, cache, learning_rate=2e-3, max_steps=1, overwrite_output_dir=True))
    assert fresh["resumed_from"] is None and fresh["steps"] == 1
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1"]
    assert json.loads((out / "run_settings.json").read_text())["settings"]["optimisation"]["learning_rate"] == 2e-3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]  # the old run was deleted, not left aside


def test_output_dir_decisions(tmp_path):
    from hf_motion.recipe_args import write_run_settings

    settings = {"data": {"files": "a" * 64, "window": 4}, "optimisation": {"learning_rate": 0.003}}
    out = tmp_path / "run"
    resolve = training.resolve_output_dir
    assert resolve(str(out), settings, "auto", False) == (None, False)  # nothing there yet
    (out / "checkpoint-5").mkdir(parents=True)
    # Checkpoints without a record (e.g. an older version's run): cannot tell, refused.
    with pytest.raises(training.OutputDirConflict, match=r"checkpoint-5.*no run_settings\.json.*--resume .*checkpoint-5"):
        resolve(str(out), settings, "auto", False)
    assert resolve(str(out), settings, "auto", True) == (None, True)  # --overwrite_output_dir
    write_run_settings(out, settings)
    assert resolve(str(out), settings, "auto", False) == (str(out / "checkpoint-5"), False)
    other = {**settings, "data": {"files": "b" * 64, "window": 4}}
    with pytest.raises(training.OutputDirConflict, match=r"data\.files: recorded aaaaaaaaaaaa\.\.\., now bbbbbbbbbbbb\.\.\."):
        resolve(str(out), other, "auto", False)
    assert resolve(str(out), other, str(out / "checkpoint-5"), False) == (str(out / "checkpoint-5"), False)
    # A later checkpoint of the recorded run beside the one resumed: fine for the same settings only.
    (out / "checkpoint-9").mkdir()
    assert resolve(str(out), settings, str(out / "checkpoint-5"), False) == (str(out / "checkpoint-5"), False)
    with pytest.raises(training.OutputDirConflict, match=r"also holds checkpoint-9 .*would pick checkpoint-9"):
        resolve(str(out), other, str(out / "checkpoint-5"), False)
    (out / "checkpoint-9").rmdir()
    with pytest.raises(SystemExit, match="inside --output_dir"):
        resolve(str(out), other, str(out / "checkpoint-5"), True)
    with pytest.raises(SystemExit, match="no such checkpoint folder"):
        resolve(str(out), other, str(tmp_path / "nope"), False)
    (out / "run_settings.json").write_text("{not json")
    with pytest.raises(training.OutputDirConflict, match=r"run_settings\.json: unreadable run-settings record"):
        resolve(str(out), settings, "auto", False)


def test_defaults_fit_a_folder_of_another_skeleton(tmp_path):
    """``--sources FOLDER`` of CMU-named BVH (inches, 120 fps) with no joint flags: 'auto' joints."""
    import numpy as np

    import hf_motion

    m = hf_motion.load_bvh(REPO / "tests" / "fixtures" / "cmu_31joint.bvh")
    src = tmp_path / "cmu"
    src.mkdir()
    for k in range(4):  # four 1-second takes (the fixture's 30 frames, repeated and shifted)
        rot = np.roll(np.tile(m.rotations, (4, 1, 1)), 7 * k, axis=0)
        take = hf_motion.Motion(rot, np.tile(m.root_translation, (4, 1)), m.skeleton, m.fps)
        hf_motion.save_bvh(take, src / f"take_{k}.bvh", scale=0.0254)
    out = tmp_path / "run"
    summary = pretrain_script.cli(["--sources", str(src)] + tiny(out, tmp_path / "cache", max_steps=2))
    # By hand from the fixture's HIERARCHY, in file order.
    expected = ["Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot", "Spine", "Spine1",
                "Neck", "Head", "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm", "RightHand"]  # fmt: skip
    assert summary["steps"] == 2 and summary["joint_names"] == expected
    assert json.loads((out / "tokenizer_config.json").read_text())["joint_names"] == expected
    # A folder of the user's own motion: no Bandai licence claimed, and the folder's path is not published.
    card = (out / "README.md").read_text()
    assert str(src) not in card and "Bandai" not in card and "1 local folder(s) of motion files" in card
