"""hf_motion.scaling (hf-motion scaling, recipes/scaling.py): a small sweep over presets on real Bandai clips writes a table and a plot with
one row per preset, ordered by size, with numbers taken from each preset's own run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM

import hf_motion.scaling as scaling_lib
from hf_motion.scripts import scaling as scaling_script

from conftest import BANDAI1

REPO = Path(__file__).resolve().parents[1]
CLIPS = ["walk_normal_001", "walk-back_giant_001", "walk-left_normal_001", "walk-right_normal_001", "kick_normal_001",
         "punch_normal_001", "slash_normal_001", "walk_proud_001", "walk-left_happy_001", "walk-right_sad_001"]  # fmt: skip


class _Sweep:
    """The library functions under test, driven by command-line strings as the script is."""

    ScalingError = scaling_lib.ScalingError
    ScalingArguments = scaling_lib.ScalingArguments
    fit_log_line = staticmethod(scaling_lib.fit_log_line)
    parse_args = staticmethod(scaling_script.parse_args)

    @staticmethod
    def main(argv):
        return scaling_lib.run_scaling(*scaling_script.parse_args(argv))


@pytest.fixture(scope="module")
def scaling():
    return _Sweep


def sweep_argv(out, cache, presets=("m5-150k", "tiny"), **over) -> list[str]:
    options = dict(
        output_dir=out, max_steps=3, sources=[str(BANDAI1 / f"dataset-1_{c}.bvh") for c in CLIPS], cache_dir=cache,
        window=24, stride=12, context_length=512, per_device_train_batch_size=4, learning_rate=3e-3, warmup_steps=0,
        logging_steps=1, eval_steps=100, save_steps=100, num_proc=1, disable_tqdm=True, seed=3,
    )  # fmt: skip
    options.update(over)
    argv = ["--presets", *presets]
    for k, v in options.items():
        argv += [f"--{k}"] + ([str(x) for x in v] if isinstance(v, list) else [str(v)])
    return argv


@pytest.fixture(scope="module")
def swept(scaling, tmp_path_factory):
    root = tmp_path_factory.mktemp("scaling")
    out, cache = root / "sweep", root / "cache"
    result = scaling.main(sweep_argv(out, cache))
    return {"out": out, "cache": cache, "result": result}


def test_table_and_plot_have_one_row_per_preset_by_size(swept):
    out = swept["out"]
    table = (out / "scaling.md").read_text()
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ") and not line.startswith("| preset")]
    # Given as (m5-150k, tiny); listed by size.
    assert [r[0].strip() for r in rows] == ["tiny", "m5-150k"]
    params = [int(r[1].strip().replace(",", "")) for r in rows]
    assert params[0] < params[1]
    for row, preset, n in zip(rows, ["tiny", "m5-150k"], params):
        run = out / preset
        # the row's numbers are those of the preset's own run and model
        summary = json.loads((run / "pretrain_summary.json").read_text())
        assert summary["preset"] == preset and summary["steps"] == 3
        assert float(row[5]) == pytest.approx(summary["final_eval_bits_per_frame"], abs=0.05)
        import hf_motion

        model = AutoModelForCausalLM.from_pretrained(run)
        assert model.config.preset == preset
        assert n == hf_motion.count_parameters(model)
    png = (out / "scaling.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    saved = json.loads((out / "scaling.json").read_text())
    assert [r["preset"] for r in saved["runs"]] == ["tiny", "m5-150k"]
    assert saved["fit"] is not None


def test_same_data_for_every_preset(swept):
    runs = swept["result"]["runs"]
    assert runs[0]["dataset"] == runs[1]["dataset"]
    assert runs[0]["train_tokens"] == runs[1]["train_tokens"] > 0
    assert runs[0]["sources"] == runs[1]["sources"]


def test_finished_runs_are_reused_not_retrained(scaling, swept, monkeypatch):
    def no_training(argv):
        raise AssertionError(f"retrained {argv}")

    monkeypatch.setattr(scaling_lib, "train_preset", no_training)
    again = scaling.main(sweep_argv(swept["out"], swept["cache"]))
    assert [r["final_eval_bits_per_frame"] for r in again["runs"]] == [r["final_eval_bits_per_frame"] for r in swept["result"]["runs"]]
    # Other options for pretrain.py are a different run: that one would train.
    with pytest.raises(AssertionError, match="retrained"):
        scaling.main(sweep_argv(swept["out"], swept["cache"], learning_rate=1e-3))


def test_a_sweep_with_other_options_is_refused_naming_them(scaling, swept, monkeypatch):
    out = swept["out"]
    before = {p: (out / p / "model.safetensors").read_bytes() for p in ("tiny", "m5-150k")}
    # The folders hold runs with learning rate 3e-3: pretrain.py refuses to resume them with 1e-3.
    with pytest.raises(scaling.ScalingError, match=r"(?s)m5-150k: .*optimisation\.learning_rate: recorded 0\.003, now 0\.001.*--retrain"):
        scaling.main(sweep_argv(out, swept["cache"], learning_rate=1e-3))
    assert {p: (out / p / "model.safetensors").read_bytes() for p in before} == before
    # --retrain asks pretrain.py to delete the old run and start fresh.
    seen = []

    def stop(argv):
        seen.append(argv)
        raise RuntimeError("stop before training")

    monkeypatch.setattr(scaling_lib, "train_preset", stop)
    with pytest.raises(RuntimeError, match="stop before training"):
        scaling.main(sweep_argv(out, swept["cache"], learning_rate=1e-3, retrain=True))
    assert "--overwrite_output_dir" in seen[0] and "--resume" not in seen[0]


def test_bad_options_fail_before_training(scaling, tmp_path, monkeypatch):
    monkeypatch.setattr(scaling_lib, "train_preset", lambda *a, **k: pytest.fail("trained despite bad options"))
    cache = tmp_path / "cache"
    with pytest.raises(scaling.ScalingError, match=r"unknown preset\(s\) \['m5-2m'\]; choose from"):
        scaling.main(sweep_argv(tmp_path, cache, presets=("tiny", "m5-2m")))
    with pytest.raises(scaling.ScalingError, match="at least 2 presets"):
        scaling.main(sweep_argv(tmp_path, cache, presets=("tiny",)))
    with pytest.raises(scaling.ScalingError, match="presets listed twice"):
        scaling.main(sweep_argv(tmp_path, cache, presets=("tiny", "tiny")))
    with pytest.raises(scaling.ScalingError, match="--max_steps must be >= 1, got 0"):
        scaling.main(sweep_argv(tmp_path, cache, max_steps=0))
    with pytest.raises(scaling.ScalingError, match=r"options passed on to pretraining were rejected.*--not_an_option"):
        scaling.main(sweep_argv(tmp_path, cache) + ["--not_an_option", "1"])
    with pytest.raises(scaling.ScalingError, match="--pretrain_config .*missing.yaml is not a file"):
        scaling.main(sweep_argv(tmp_path, cache, pretrain_config=tmp_path / "missing.yaml"))
    # The command line (hf-motion scaling, recipes/scaling.py) says the same without a traceback.
    with pytest.raises(SystemExit, match=r"^error: a scaling sweep needs at least 2 presets"):
        scaling_script.cli(sweep_argv(tmp_path, cache, presets=("tiny",)))


def test_fit_is_the_least_squares_line_in_log_size(scaling):
    # Hand case: bits fall by exactly 10 per decade.
    a, b = scaling.fit_log_line([1_000, 10_000, 100_000], [50.0, 40.0, 30.0])
    assert a == pytest.approx(80.0) and b == pytest.approx(-10.0)
    assert scaling.fit_log_line([1_000, 1_000], [50.0, 40.0]) is None


def test_yaml_config_spells_out_the_defaults(scaling, tmp_path):
    args, rest = scaling.parse_args(["--config", str(REPO / "recipes" / "scaling.yaml")])
    assert args == scaling.ScalingArguments() and rest == []
    cfg = tmp_path / "s.yaml"
    cfg.write_text("max_step: 3\n")
    with pytest.raises(SystemExit, match=r"unknown option\(s\) \['max_step'\]"):
        scaling.parse_args(["--config", str(cfg)])
    # flags override the file; unknown flags are left for pretrain.py
    cfg.write_text("max_steps: 3\npresets: [tiny, m5-1m]\n")
    args, rest = scaling.parse_args(["--config", str(cfg), "--max_steps", "5", "--max_clips", "9"])
    assert (args.max_steps, args.presets, rest) == (5, ["tiny", "m5-1m"], ["--max_clips", "9"])
