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
