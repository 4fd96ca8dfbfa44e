from hf_motion.cli import COMMANDS, main


def test_demo_tokenizes_real_clips_and_prints_a_summary(capsys, bandai_paths):
    assert main(["demo", str(bandai_paths[0].parent), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 clips from" in out
    rows = [line for line in out.splitlines() if line.startswith(("m5 (256 bins)", "coarse/fine"))]
    assert len(rows) == 2
    m5_err, fine_err = (float(r.split("mean")[0].split()[-1]) for r in rows)
    assert fine_err < 1.0 and fine_err < m5_err  # cm: the finer code beats M5's floor


def test_usage_and_unknown_command(capsys):
    assert main([]) == 2
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    assert main(["no-such-command"]) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_build_dataset_refuses_a_missing_tokenizer_folder(capsys, tmp_path, bandai_paths):
    out = tmp_path / "out"
    typo = tmp_path / "m5-motoin"
    args = ["build-dataset", str(bandai_paths[0]), "--out", str(out), "--quiet"]
    assert main(args + ["--tokenizer", str(typo)]) == 1
    err = capsys.readouterr().err
    assert f"--tokenizer {typo}: Can't load a MotionTokenizer from '{typo}': no such file or folder" in err
    # Relative and two-part: it could be a Hub repo id, so both are ruled out.
    assert main(args + ["--tokenizer", "tokenizer_configs/m5-motoin"]) == 1
    assert "'tokenizer_configs/m5-motoin': no tokenizer_config.json or tokenizer.json" in capsys.readouterr().err
    assert main(args + ["--tokenizer", ""]) == 1
    assert "--tokenizer is empty" in capsys.readouterr().err
    assert not out.exists()


def test_build_dataset_names_a_corrupt_tokenizer_file(capsys, tmp_path, bandai_paths):
    import shutil
    from pathlib import Path

    folder = tmp_path / "tok"
    shutil.copytree(Path(__file__).resolve().parents[1] / "tokenizer_configs" / "m5-motion", folder)
    (folder / "tokenizer.json").write_text("{", encoding="utf-8")
    assert main(["build-dataset", str(bandai_paths[0]), "--out", str(tmp_path / "out"), "--tokenizer", str(folder)]) == 1
    assert f"tokenizer.json ({folder / 'tokenizer.json'}) is not valid JSON" in capsys.readouterr().err


def test_demo_refuses_bad_window_and_limit(capsys, bandai_paths):
    import pytest

    for flag, value in (("--window", "0"), ("--limit", "-1"), ("--window", "x")):
        with pytest.raises(SystemExit) as info:
            main(["demo", str(bandai_paths[0].parent), flag, value])
        assert info.value.code == 2
        assert f"argument {flag}: expected a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="has 100000 frames"):
        main(["demo", str(bandai_paths[0].parent), "--limit", "1", "--window", "100000"])


def test_build_dataset_defaults_fit_a_cmu_folder(capsys, tmp_path):
    """No --joints: 'auto' finds the CMU skeleton's core body joints by name (31 joints in the file)."""
    import json
    from pathlib import Path

    import datasets
    import numpy as np

    import hf_motion

    fixture = Path(__file__).parent / "fixtures" / "cmu_31joint.bvh"
    src = tmp_path / "cmu"
    src.mkdir()
    (src / "cmu_31joint.bvh").symlink_to(fixture)
    # A longer take of the same skeleton (the fixture is 0.25 s): its frames repeated, in the file's inches.
    m = hf_motion.load_bvh(fixture)
    reps = 12
    long = hf_motion.Motion(np.tile(m.rotations, (reps, 1, 1)), np.tile(m.root_translation, (reps, 1)), m.skeleton, m.fps)
    hf_motion.save_bvh(long, src / "cmu_long.bvh", scale=0.0254)
    out = tmp_path / "out"
    assert main(["build-dataset", str(src), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    # Written out by hand from the fixture's HIERARCHY, in file order.
    expected = ["Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot", "Spine", "Spine1",
                "Neck", "Head", "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm", "RightHand"]  # fmt: skip
    stats = json.loads((out / "build_info.json").read_text())["stats"]
    assert stats["joint_names"] == expected and "joints: 17 (Hips, LeftUpLeg" in printed
    ds = datasets.load_from_disk(str(out))
    rows = [r for s in ds for r in ds[s]]
    assert rows and {r["clip"] for r in rows} == {"cmu_long"}  # the 0.25 s fixture is shorter than the window
    # Hand-derived lengths at 30 fps: <bos> task ... <eos>, a frame = separator + 17 joints x 3 values.
    frame = 17 * 3 + 1
    assert {len(r["input_ids"]) for r in rows} <= {30 * frame + 3, 2 * 30 * frame + 3}


def test_build_dataset_joints_errors_say_what_to_pass(capsys, tmp_path):
    from pathlib import Path

    import hf_motion

    fixture = Path(__file__).parent / "fixtures" / "cmu_31joint.bvh"
    m = hf_motion.load_bvh(fixture)
    odd = hf_motion.Skeleton([f"bone{i}" for i in range(m.num_joints)], m.skeleton.parents, m.skeleton.offsets)
    src = tmp_path / "odd"
    src.mkdir()
    hf_motion.save_bvh(hf_motion.Motion(m.rotations, m.root_translation, odd, m.fps), src / "odd.bvh", scale=0.0254)
    base = ["build-dataset", str(src), "--out", str(tmp_path / "out"), "--quiet", "--fps", "none", "--window", "10"]
    assert main(base) == 1
    err = capsys.readouterr().err
    assert "odd.bvh" in err and "joints='auto'" in err and "--joints all" in err and "bone0, bone1" in err
    assert main(base + ["--joints", "cmu-core"]) == 1
    assert "unknown joint subset 'cmu-core'" in capsys.readouterr().err
    assert main(base + ["--joints", "bone0,Hips"]) == 1
    err = capsys.readouterr().err
    assert "['Hips'] are not in this skeleton" in err or "lacks 1 of the subset's 2 joints (Hips)" in err
    assert "bone0" in err
    assert main(base + ["--joints", "all"]) == 0
    assert "joints: 31 (bone0" in capsys.readouterr().out


def test_pretrain_subcommand_runs_the_library_script_with_either_flag_style(tmp_path, bandai_paths, capsys):
    import json

    from transformers import AutoProcessor

    from hf_motion import MotionProcessor

    out = tmp_path / "run"
    flags = dict(output_dir=out, cache_dir=tmp_path / "cache", sources=bandai_paths[0].parent, max_clips=3, window=4,
                 stride=4, context_length=256, max_steps=1, per_device_train_batch_size=2, learning_rate=3e-3,
                 warmup_steps=0, eval_strategy="no", save_steps=10, num_proc=1, disable_tqdm=True, report_to="none")  # fmt: skip
    # kebab-case for some flags, snake_case for the rest: one parser accepts both spellings
    argv = ["pretrain"] + [x for k, v in flags.items() for x in (f"--{k.replace('_', '-') if k.startswith('max') else k}", str(v))]
    assert main(argv) == 0
    summary = json.loads((out / "pretrain_summary.json").read_text())
    assert summary["steps"] == 1 and summary["max_clips"] == 3 and summary["train_rows"] > 0
    assert isinstance(AutoProcessor.from_pretrained(out), MotionProcessor)
    assert "steps" in capsys.readouterr().out
