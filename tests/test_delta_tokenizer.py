"""Delta (predictive) coding as a MotionTokenizer option, on real Bandai clips.

The oracles here are independent of the code under test: the quantizer's own levels
(``UniformQuantizer.encode``), an absolute-coding tokenizer's ids for keyframes, differences of
levels computed with numpy, and a few-line reference loop for the closed-loop catch-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hf_motion as hm
from hf_motion import MotionTokenizer, MotionTokenizerError

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "tokenizer_configs"
DELTA_DIR = CONFIGS / "m5-delta-motion"
CORE = hm.skeletons.resolve_joint_subset("bandai-core")
# Canonical positions of fast clips leave the [-2, 2] m box now and then: clipped (and counted) by design.
pytestmark = pytest.mark.filterwarnings("ignore:.*fall outside the quantizer range:UserWarning")


@pytest.fixture(scope="module")
def m5():
    return MotionTokenizer.m5(256)


@pytest.fixture(scope="module")
def delta():
    return MotionTokenizer.m5_delta(256)


@pytest.fixture(scope="module")
def windows(bandai_motions):
    """(angles, canonical positions) of 24-frame windows at 10 fps on the 17-joint skeleton."""
    out = []
    for m in bandai_motions:
        sub = hm.resample_motion(m, 10).select_joints("bandai-core")
        for s in range(0, sub.num_frames - 24 + 1, 24):
            w = sub.slice(s, s + 24)
            out.append((w.rotations, hm.canonicalize_positions(w.positions())))
    return out


def _levels(tok, angles, positions):
    return tok.angle_quantizer.encode(angles), tok.position_quantizer.encode(positions)


def _frames(ids, tok):
    """Frames (lists of ids) of one encoded sequence, read by splitting at the separator."""
    body = np.asarray(ids)[2:-1]
    seps = np.flatnonzero(body == tok.frame_separator_id)
    return [body[s + 1 : e] for s, e in zip(seps, list(seps[1:]) + [len(body)])]


def _closed_loop_reference(levels: np.ndarray, max_step: int) -> np.ndarray:
    """What a decoder with steps of at most ``max_step`` levels can follow (frame 0 exact)."""
    out = np.empty_like(levels)
    out[0] = levels[0]
    for t in range(1, len(levels)):
        out[t] = out[t - 1] + np.clip(levels[t] - out[t - 1], -max_step, max_step)
    return out


# ----------------------------------------------------------------- vocabulary
def test_delta_alphabets_are_printable_nfkc_stable_disjoint_hangul(delta, m5):
    seen = set(" $&>")
    for kind in ("angle", "position"):
        for coding in ("absolute", "delta"):
            a = delta.alphabet(kind, coding=coding)
            assert len(set(a)) == len(a) == (256 if coding == "absolute" else 2 * 255 + 1)
            assert not seen & set(a)
            seen |= set(a)
            for ch in a:
                assert ch.isprintable() and not ch.isspace()
                assert unicodedata.normalize("NFKC", ch) == ch
                if coding == "delta":
                    assert 0xAC00 <= ord(ch) <= 0xD7A3 and unicodedata.name(ch).startswith("HANGUL SYLLABLE")
    # The absolute part of the vocabulary is M5's, id for id: keyframes read like M5 text.
    m5_vocab = m5.get_vocab()
    assert {t: i for t, i in delta.get_vocab().items() if i < len(m5)} == m5_vocab
    assert len(delta) == len(m5) + 2 * 511


def test_properties_and_per_id_arrays(delta, m5):
    assert (delta.coding, delta.keyframe_interval, delta.max_step) == ("delta", None, 255)
    assert delta.max_steps == {"angle": 255, "position": 255}
    assert (m5.coding, m5.keyframe_interval, m5.max_step, m5.max_steps) == ("absolute", None, None, {})
    codings, kinds = delta.token_codings, delta.token_kinds
    assert len(codings) == len(kinds) == len(delta)
    assert set(codings[:8]) == {0} and set(kinds[:8]) == {0}
    for kind, k in (("angle", 1), ("position", 2)):
        ids = delta.delta_token_ids(kind)
        assert set(codings[ids]) == {2} and set(kinds[ids]) == {k}
        assert delta.token_values[ids].tolist() == list(range(511))
        absolute = delta.angle_token_ids() if kind == "angle" else delta.position_token_ids()
        assert set(codings[absolute]) == {1} and set(kinds[absolute]) == {k}
    assert set(m5.token_codings[8:]) == {1}
    with pytest.raises(MotionTokenizerError, match="no delta alphabets"):
        m5.delta_token_ids("angle")
    small = MotionTokenizer.m5_delta(64, keyframe_interval=5, max_step=3)
    assert (small.keyframe_interval, small.max_step, len(small)) == (5, 3, 8 + 2 * 64 + 2 * 7)


def test_bad_coding_arguments_raise():
    with pytest.raises(MotionTokenizerError, match="coding='delta' supports digits=1 only"):
        MotionTokenizer(digits=2, angle_bins=4096, position_bins=4096, coding="delta")
    with pytest.raises(MotionTokenizerError, match="coding='delta' supports digits=1 only"):
        MotionTokenizer.coarse_fine(64, coding="delta")
    with pytest.raises(MotionTokenizerError, match="coding must be one of"):
        MotionTokenizer(coding="predictive")
    with pytest.raises(MotionTokenizerError, match="only apply to coding='delta'"):
        MotionTokenizer.m5(256, keyframe_interval=4)
    with pytest.raises(MotionTokenizerError, match="max_step=256 exceeds angle n_bins - 1 = 255"):
        MotionTokenizer.m5_delta(256, max_step=256)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(MotionTokenizerError, match="max_step must be None or an integer"):
            MotionTokenizer.m5_delta(256, max_step=bad)
        with pytest.raises(MotionTokenizerError, match="keyframe_interval must be None or an integer"):
            MotionTokenizer.m5_delta(256, keyframe_interval=bad)
    with pytest.raises(MotionTokenizerError, match=r"max_step=4095 \(the default is angle n_bins - 1\) needs 8191"):
        MotionTokenizer.m5_delta(4096)
    assert len(MotionTokenizer.m5_delta(4096, max_step=2792)) == 8 + 2 * 4096 + 2 * 5585
    with pytest.raises(MotionTokenizerError, match="either quantization or coding"):
        MotionTokenizer(quantization=MotionTokenizer.m5(256).quantization, coding="delta")


# ----------------------------------------------------------------- round trips
@pytest.mark.parametrize("task", ["$", "&", ">"])
def test_text_path_equals_array_path_and_decode_is_the_quantized_levels(delta, windows, task):
    for angles, positions in windows[::3]:
        pos = positions if task != ">" else None
        ids = delta.encode_motion(angles, pos, task=task)
        text = delta.motion_to_text(angles, pos, task=task)
        assert delta(text)["input_ids"] == ids.tolist()
        for dec in (delta.decode_motion(ids), delta.text_to_motion(text)):
            assert dec.task == task
            np.testing.assert_array_equal(dec.angles, delta.angle_quantizer.round_trip(angles))
            if pos is None:
                assert dec.positions is None
            else:
                np.testing.assert_array_equal(dec.positions, delta.position_quantizer.round_trip(positions))


def test_ids_are_keyframes_then_level_differences(delta, m5, windows):
    angles, positions = windows[1]
    la, lp = _levels(delta, angles, positions)
    ids = delta.encode_motion(angles, positions, task="$")
    ref = _frames(m5.encode_motion(angles, positions, task="$"), m5)
    frames = _frames(ids, delta)
    assert len(frames) == 2 * len(angles)
    for t in range(len(angles)):
        for f, kind, lv in ((frames[2 * t], "angle", la), (frames[2 * t + 1], "position", lp)):
            if t == 0:
                np.testing.assert_array_equal(f, ref[2 * t if kind == "angle" else 2 * t + 1])
            else:
                want = delta.delta_token_ids(kind)[0] + (lv[t] - lv[t - 1]).ravel() + 255
                np.testing.assert_array_equal(f, want)


def test_no_change_dominates_and_is_one_character_per_value(delta, windows):
    no_change = {k: delta.delta_token_ids(k)[255] for k in ("angle", "position")}
    hits = total = 0
    for angles, positions in windows:
        ids = delta.encode_motion(angles, positions, task="$")
        la, lp = _levels(delta, angles, positions)
        n_static = (np.diff(la, axis=0) == 0).sum() + (np.diff(lp, axis=0) == 0).sum()
        n_tokens = np.isin(ids, list(no_change.values())).sum()
        assert n_tokens == n_static
        hits += n_tokens
        total += 2 * (len(angles) - 1) * la[0].size
    assert hits / total > 0.3


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 8), st.integers(1, 4)),
    task=st.sampled_from(["$", "&", ">"]),
    interval=st.one_of(st.none(), st.integers(1, 4)),
    data=st.data(),
)
def test_property_random_motion_decodes_to_its_levels(shape, task, interval, data):
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=interval)
    T, J = shape
    angles = data.draw(hnp.arrays(np.float64, (T, J, 3), elements=st.floats(-3.1, 3.1)))
    positions = data.draw(hnp.arrays(np.float64, (T, J, 3), elements=st.floats(-1.99, 1.99)))
    ids = tok.encode_motion(angles, positions, task=task)
    dec = tok.decode_motion(ids)
    np.testing.assert_array_equal(tok.angle_quantizer.encode(dec.angles), tok.angle_quantizer.encode(angles))
    np.testing.assert_array_equal(tok.position_quantizer.encode(dec.positions), tok.position_quantizer.encode(positions))
    assert tok(tok.motion_to_text(angles, positions, task=task))["input_ids"] == ids.tolist()
    assert np.array_equal(tok.encode_motion(dec.angles, dec.positions, task=task), ids)


# ----------------------------------------------------------------- keyframes
@pytest.mark.parametrize("interval", [1, 3, 5])
@pytest.mark.parametrize("task", ["$", "&"])
def test_keyframe_interval_per_stream(interval, task, m5, windows):
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=interval)
    angles, positions = windows[4]
    ids = tok.encode_motion(angles, positions, task=task)
    frames = _frames(ids, tok)
    ref = _frames(m5.encode_motion(angles, positions, task=task), m5)
    first = "position" if task == "&" else "angle"
    for f, frame in enumerate(frames):
        t = f // 2  # each stream counts its own frames
        kind = first if f % 2 == 0 else ("angle" if first == "position" else "position")
        assert set(tok.token_kinds[frame]) == {1 if kind == "angle" else 2}
        if t % interval == 0:
            assert set(tok.token_codings[frame]) == {1}
            np.testing.assert_array_equal(frame, ref[f])  # keyframes are M5 frames
        else:
            assert set(tok.token_codings[frame]) == {2}
    dec = tok.decode_motion(ids)
    np.testing.assert_array_equal(dec.angles, tok.angle_quantizer.round_trip(angles))
    np.testing.assert_array_equal(dec.positions, tok.position_quantizer.round_trip(positions))


def test_interval_one_is_m5_text_and_a_keyframe_resets_the_loop(m5, windows):
    angles, positions = windows[2]
    every = MotionTokenizer.m5_delta(256, keyframe_interval=1)
    assert np.array_equal(every.encode_motion(angles, positions, task="$"), m5.encode_motion(angles, positions, task="$"))
    # With a small step, keyframes make the catch-up restart from the exact level.
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=4, max_step=2)
    dec = tok.decode_motion(tok.encode_motion(angles=angles))
    la = tok.angle_quantizer.encode(angles)
    np.testing.assert_array_equal(tok.angle_quantizer.encode(dec.angles)[::4], la[::4])
    for s in range(0, len(la), 4):
        np.testing.assert_array_equal(tok.angle_quantizer.encode(dec.angles[s : s + 4]), _closed_loop_reference(la[s : s + 4], 2))


def test_frames_per_sequence_codes_each_window_on_its_own(windows):
    tok = MotionTokenizer.m5_delta(256, max_step=9)
    batch = windows[:5]
    A = np.concatenate([a for a, _ in batch])
    P = np.concatenate([p for _, p in batch])
    ids = tok.encode_motion(A, P, task="&", frames_per_sequence=24)
    rows = ids[2:-1].reshape(len(batch), -1)
    for row, (a, p) in zip(rows, batch):
        alone = tok.encode_motion(a, p, task="&")
        np.testing.assert_array_equal(row, alone[2:-1])
    dec = tok.decode_motion(ids, frames_per_sequence=24)
    for k, (a, _) in enumerate(batch):
        np.testing.assert_array_equal(dec.angles[24 * k : 24 * (k + 1)], tok.decode_motion(tok.encode_motion(a, task=">")).angles)
    with pytest.raises(
        MotionTokenizerError,
        match=r"frame 48 \(position frame 24\), token 0 .*absolute character, but this position frame is not a keyframe",
    ):
        tok.decode_motion(ids)  # read as one sequence: window 1 starts with a keyframe where a delta is due
    with pytest.raises(MotionTokenizerError, match="not a whole number of sequences"):
        tok.encode_motion(A[:30], task=">", frames_per_sequence=24)


# ----------------------------------------------------------------- small max_step
@pytest.mark.parametrize("max_step", [1, 4, 15])
def test_small_max_step_catches_up_and_never_drifts_on_real_clips(bandai_motions, max_step):
    tok = MotionTokenizer.m5_delta(256, max_step=max_step)
    saturated = 0
    for m in bandai_motions:
        sub = hm.resample_motion(m, 10).select_joints("bandai-core")
        angles, positions = sub.rotations, hm.canonicalize_positions(sub.positions())
        ids = tok.encode_motion(angles, positions, task="$")
        dec = tok.decode_motion(ids)
        assert tok(tok.motion_to_text(angles, positions, task="$"))["input_ids"] == ids.tolist()
        for q, x, y in ((tok.angle_quantizer, angles, dec.angles), (tok.position_quantizer, positions, dec.positions)):
            levels, got = q.encode(x), q.encode(y)
            np.testing.assert_array_equal(q.decode(got), y)  # bin centres
            want = _closed_loop_reference(levels, max_step)
            np.testing.assert_array_equal(got, want)
            gap = np.abs(got - levels)
            saturated += int((gap > 0).sum())
            # Never drifts: the gap shrinks by max_step per frame unless the target moves away again.
            moved = np.abs(np.diff(levels, axis=0))
            assert np.all(gap[1:] <= np.maximum(gap[:-1] + moved - max_step, 0))
            # Wherever the motion's changes fit in max_step from a frame that was exact, it stays exact.
            exact_run = (gap[:-1] == 0) & (moved <= max_step)
            assert np.all(gap[1:][exact_run] == 0)
    assert saturated > 0  # the real clips do hit the step limit, so the catch-up is exercised


# ----------------------------------------------------------------- strict decoding
def test_strict_decode_names_frame_and_slot_of_a_wrong_coding():
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=3, joint_names=["a", "b"])
    rng = np.random.default_rng(0)
    angles = rng.uniform(-1, 1, (5, 2, 3))
    positions = rng.uniform(-1, 1, (5, 2, 3))
    ids = tok.encode_motion(angles, positions, task="&")  # P0 A0 P1 A1 P2 A2 P3 A3 P4 A4
    tok.decode_motion(ids)

    def pos(frame, token):  # <bos> & then frames of 1 separator + 6 values
        return 2 + frame * 7 + 1 + token

    absolute_where_delta = ids.copy()
    absolute_where_delta[pos(2, 4)] = int(tok.position_token_ids()[7])  # frame 2 is P1: a delta frame
    with pytest.raises(
        MotionTokenizerError,
        match=r"frame 2 \(position frame 1\), token 4 \(joint 1 \(b\), component y, "
        r"position 21\): .*an absolute character, but this position frame is not a keyframe",
    ):
        tok.decode_motion(absolute_where_delta)
    delta_where_key = ids.copy()
    delta_where_key[pos(7, 0)] = int(tok.delta_token_ids("angle")[250])  # frame 7 is A3: a keyframe (interval 3)
    match = r"frame 7 \(angle frame 3\), token 0 \(joint 0 \(a\), component x.*delta character, but this angle frame is a keyframe"
    with pytest.raises(MotionTokenizerError, match=match):
        tok.decode_motion(delta_where_key)
    with pytest.raises(MotionTokenizerError, match=match):
        tok.decode_motion(delta_where_key, strict=False)  # the wrong alphabet is never guessed at
    mixed = ids.copy()
    mixed[pos(3, 2)] = int(tok.delta_token_ids("position")[3])  # a position delta inside an angle frame
    with pytest.raises(MotionTokenizerError, match=r"frame 3, token 2 .*does not belong in this slot of a angle frame"):
        tok.decode_motion(mixed)


def test_changes_leaving_the_level_range_raise_strict_and_saturate_otherwise():
    tok = MotionTokenizer.m5_delta(16, max_step=15)
    q = tok.angle_quantizer
    start = int(tok.angle_token_ids()[0])
    d0 = int(tok.delta_token_ids("angle")[0])
    # frame 0 level 3 (absolute), then +11 -> 14, then +9 -> 23 (out of [0, 16)), then -9 -> 14.
    frame_ids = [[start + 3] * 3, [d0 + 15 + 11] * 3, [d0 + 15 + 9] * 3, [d0 + 15 - 9] * 3]
    ids = [1, 7]
    for f in frame_ids:
        ids += [4] + f
    with pytest.raises(MotionTokenizerError, match=r"frame 2 \(angle frame 2\), token 0 .*level to 23, outside \[0, 16\)"):
        tok.decode_motion(ids)
    dec = tok.decode_motion(ids, strict=False)
    want = np.array([3, 14, 15, 6])  # saturates at 15, then moves on from the edge
    np.testing.assert_array_equal(q.encode(dec.angles)[:, 0, :], np.repeat(want[:, None], 3, axis=1))


# ----------------------------------------------------------------- IK order
def test_ik_writes_positions_first_and_decodes_to_the_same_arrays(delta, windows):
    angles, positions = windows[0]
    fk = delta.encode_motion(angles, positions, task="$")
    ik = delta.encode_motion(angles, positions, task="&")
    assert set(delta.token_kinds[_frames(ik, delta)[0]]) == {2}  # position frame first
    assert set(delta.token_kinds[_frames(ik, delta)[1]]) == {1}
    assert set(delta.token_kinds[_frames(fk, delta)[0]]) == {1}
    a, b = delta.decode_motion(fk), delta.decode_motion(ik)
    assert (a.task, b.task) == ("$", "&")
    np.testing.assert_array_equal(a.angles, b.angles)
    np.testing.assert_array_equal(a.positions, b.positions)


# ----------------------------------------------------------------- saving / loading
def test_save_reload_exact_and_config_records_the_coding(tmp_path, windows):
    tok = MotionTokenizer.m5_delta(128, keyframe_interval=6, max_step=20, joint_names=CORE)
    tok.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert cfg["quantization"]["coding"] == {"type": "delta", "keyframe_interval": 6, "max_step": 20}
    back = MotionTokenizer.from_pretrained(tmp_path)
    assert (back.coding, back.keyframe_interval, back.max_step) == ("delta", 6, 20)
    assert back.quantization == tok.quantization and back.get_vocab() == tok.get_vocab()
    assert np.array_equal(back.token_codings, tok.token_codings)
    angles, positions = windows[3]
    np.testing.assert_array_equal(back.encode_motion(angles, positions, "&"), tok.encode_motion(angles, positions, "&"))
    text = tok.motion_to_text(angles, positions, task="$")
    assert back(text)["input_ids"] == tok(text)["input_ids"]
    # A default tokenizer records its resolved max_step (n_bins - 1).
    MotionTokenizer.m5_delta(256).save_pretrained(tmp_path / "default")
    q = json.loads((tmp_path / "default" / "tokenizer_config.json").read_text())["quantization"]
    assert q["coding"] == {"type": "delta", "keyframe_interval": None, "max_step": 255}


def test_absolute_configs_have_no_coding_field(tmp_path):
    MotionTokenizer.m5(256).save_pretrained(tmp_path)
    assert "coding" not in json.loads((tmp_path / "tokenizer_config.json").read_text())["quantization"]
    q = MotionTokenizer.m5(256).quantization
    assert MotionTokenizer(quantization={**q, "coding": {"type": "absolute"}}).get_vocab() == MotionTokenizer.m5(256).get_vocab()


def _corrupt(tmp_path, name, edit):
    folder = tmp_path / "m5-delta-motion"
    shutil.copytree(DELTA_DIR, folder)
    path = folder / name
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


def test_integrity_checks_cover_the_delta_alphabets(tmp_path):
    from transformers import AutoTokenizer

    def swap(t):
        vocab = t["model"]["vocab"]
        a, b = (c for c, i in vocab.items() if i in (1000, 1001))  # inside the angle delta alphabet
        vocab[a], vocab[b] = vocab[b], vocab[a]

    folder = _corrupt(tmp_path, "tokenizer.json", swap)
    for load in (MotionTokenizer.from_pretrained, AutoTokenizer.from_pretrained):
        with pytest.raises(
            MotionTokenizerError,
            match=r"model\.vocab: token .* \(U\+[0-9A-F]{4}\) is id 1001 in tokenizer\.json, id 1000 from .*delta coding",
        ):
            load(str(folder))
    shutil.rmtree(folder)
    folder = _corrupt(tmp_path, "tokenizer_config.json", lambda c: c["quantization"]["coding"].update(max_step=100))
    with pytest.raises(MotionTokenizerError, match=r"model\.vocab: 1542 tokens in tokenizer\.json, 922 from"):
        MotionTokenizer.from_pretrained(str(folder))
    shutil.rmtree(folder)
    folder = _corrupt(tmp_path, "tokenizer_config.json", lambda c: c["quantization"].pop("coding"))
    with pytest.raises(MotionTokenizerError, match=r"model\.vocab: 1542 tokens in tokenizer\.json, 520 from"):
        MotionTokenizer.from_pretrained(str(folder))
    for edit, fragment in (
        (lambda c: c["quantization"]["coding"].update(type="lossy"), r"quantization\.coding\.type must be one of"),
        (lambda c: c["quantization"]["coding"].update(step=3), r"quantization\.coding has unknown fields \['step'\]"),
        (lambda c: c["quantization"].update(coding="delta"), r"quantization\.coding must be a dict"),
        (lambda c: c["quantization"]["coding"].update(max_step=0), r"max_step must be None or an integer >= 1"),
        (lambda c: c["quantization"].update(digits=2), r"coding='delta' supports digits=1 only"),
    ):
        shutil.rmtree(folder)
        folder = _corrupt(tmp_path, "tokenizer_config.json", edit)
        with pytest.raises(MotionTokenizerError, match=fragment):
            MotionTokenizer.from_pretrained(str(folder))


def test_delta_folder_loads_with_autotokenizer_with_and_without_hf_motion(tmp_path, delta, windows):
    assert (DELTA_DIR / "tokenizer.json").is_file(), "run python tokenizer_configs/build.py"
    shutil.copytree(DELTA_DIR, tmp_path / "m5-delta-motion")
    angles, positions = windows[5]
    text = delta.motion_to_text(angles[:3, :4], positions[:3, :4], task="$")
    assert any(0xAC00 <= ord(c) <= 0xD7A3 for c in text)
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    probe = (
        "import json{imp}\n"
        "from transformers import AutoTokenizer\n"
        "tok = AutoTokenizer.from_pretrained('m5-delta-motion')\n"
        "ids = tok(open('text.txt', encoding='utf-8').read())['input_ids']\n"
        "print(json.dumps([type(tok).__name__, ids, hasattr(tok, 'decode_motion'), len(tok)]))\n"
    )
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", probe.format(imp=imp)], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, check=True).stdout)
        for imp in ("\nimport hf_motion", "")
    ]  # fmt: skip
    (full_cls, full_ids, full_motion, full_len), (plain_cls, plain_ids, plain_motion, plain_len) = runs
    assert (full_cls, full_motion, plain_cls, plain_motion) == ("MotionTokenizer", True, "TokenizersBackend", False)
    assert full_ids == plain_ids == delta(text)["input_ids"]
    assert 3 not in plain_ids  # no <unk>: every delta character is in the plain vocabulary
    assert full_len == plain_len == len(delta)


def test_build_script_writes_the_delta_folder_and_keeps_the_others_byte_identical(tmp_path):
    out = tmp_path / "built"
    subprocess.run(
        [sys.executable, str(CONFIGS / "build.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    for name in ("m5-motion", "m5-fine-motion", "m5-delta-motion"):
        shipped = sorted(p.name for p in (CONFIGS / name).iterdir())
        assert sorted(p.name for p in (out / name).iterdir()) == shipped == ["README.md", "tokenizer.json", "tokenizer_config.json"]
        for f in shipped:
            assert (out / name / f).read_bytes() == (CONFIGS / name / f).read_bytes(), (name, f)
    cfg = json.loads((CONFIGS / "m5-delta-motion" / "tokenizer_config.json").read_text())
    assert cfg["quantization"]["coding"] == {"type": "delta", "keyframe_interval": None, "max_step": 255}
    assert cfg["quantization"]["angle"]["n_bins"] == cfg["quantization"]["position"]["n_bins"] == 256
    for name in ("m5-motion", "m5-fine-motion"):
        assert "coding" not in json.loads((CONFIGS / name / "tokenizer_config.json").read_text())["quantization"]
