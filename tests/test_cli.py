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
