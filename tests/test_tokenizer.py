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

M5_DIR = REPO / "tokenizer_configs" / "m5-motion"


@pytest.fixture(scope="module")
def m5():
    return MotionTokenizer.m5(256)


@pytest.fixture(scope="module")
def fine():
    return MotionTokenizer.coarse_fine(64)


@pytest.fixture(scope="module")
def real_windows(bandai_motions):
    """(angles, canonical positions) of 1-second windows of the reduced Bandai skeleton."""
    out = []
    for m in bandai_motions:
        sub = m.select_joints("bandai-core").slice(30, 60)
        out.append((sub.rotations, hm.canonicalize_positions(sub.positions())))
    return out


def test_alphabets_are_printable_nfkc_stable_and_disjoint(m5, fine):
    for tok in (m5, fine):
        alphabets = [tok.alphabet(k, d) for k in ("angle", "position") for d in range(tok.digits)]
        seen = set()
        for a in alphabets:
            assert len(set(a)) == len(a)
            assert not seen & set(a)
            seen |= set(a)
            for ch in a:
                assert ch.isprintable() and not ch.isspace()
                assert unicodedata.normalize("NFKC", ch) == ch
        assert not seen & {" ", "$", "&", ">"}


def test_special_ids_and_vocab_size(m5, fine):
    for tok in (m5, fine):
        assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
        assert tok.frame_separator_id == 4
        assert tok.task_token_ids == {"$": 5, "&": 6, ">": 7}
    assert len(m5) == 8 + 2 * 256
    assert len(fine) == 8 + 2 * 2 * 64  # smaller vocabulary than M5-256 ...
    assert fine.angle_quantizer.n_bins == 4096  # ... with 16x finer bins


def test_layout_on_a_hand_built_frame():
    tok = MotionTokenizer.m5(4, angle_quantizer=hm.UniformQuantizer(0.0, 4.0, 4))
    angles = np.array([[[0.5, 1.5, 2.5], [3.5, 0.1, 1.1]]])  # bins 0 1 2 3 0 1
    start = int(tok.angle_token_ids()[0])
    ids = tok.encode_motion(angles=angles, task=">")
    assert ids.tolist() == [1, 7, 4] + [start + b for b in (0, 1, 2, 3, 0, 1)] + [2]
    text = tok.motion_to_text(angles=angles)
    assert text[:2] == "> " and len(text) == 8 and text[2:] == "".join(chr(ord(tok.alphabet("angle")[0]) + b) for b in (0, 1, 2, 3, 0, 1))


@pytest.mark.parametrize("task", ["$", "&", ">"])
def test_text_path_equals_array_path_on_real_data(m5, fine, real_windows, task):
    for tok in (m5, fine):
        for angles, positions in real_windows[:3]:
            ids = tok.encode_motion(angles, positions, task=task)
            text = tok.motion_to_text(angles, positions, task=task)
            assert tok(text)["input_ids"] == ids.tolist()
            assert text.count(" ") == 2 * len(angles)  # one separator per frame, interleaved


def test_decode_recovers_real_motion_within_half_a_bin(m5, fine, real_windows):
    for tok in (m5, fine):
        for angles, positions in real_windows:
            dec = tok.decode_motion(tok.encode_motion(angles, positions, task="$"))
            assert dec.task == "$"
            assert dec.angles.shape == angles.shape and dec.positions.shape == positions.shape
            assert np.all(np.abs(dec.angles - angles) <= tok.angle_quantizer.delta / 2 + 1e-9)
            inside = np.abs(positions) <= 2.0
            err = np.abs(dec.positions - positions)[inside]
            assert np.all(err <= tok.position_quantizer.delta[0] / 2 + 1e-9)


def test_fine_scheme_beats_m5_on_real_positions(m5, fine, real_windows):
    def mean_err(tok):
        errs = []
        for angles, positions in real_windows:
            dec = tok.decode_motion(tok.encode_motion(positions=positions))
            errs.append(np.linalg.norm(dec.positions - positions, axis=-1).ravel())
        return np.concatenate(errs).mean()

    assert mean_err(fine) < 0.01  # the criterion: under 1 cm
    assert mean_err(fine) < mean_err(m5) / 8


@settings(max_examples=40, deadline=None)
@given(
    digits=st.sampled_from([1, 2]),
    shape=st.tuples(st.integers(1, 6), st.integers(1, 5)),
    data=st.data(),
)
def test_property_ids_round_trip(digits, shape, data):
    tok = MotionTokenizer.m5(256) if digits == 1 else MotionTokenizer.coarse_fine(16)
    T, J = shape
    angles = data.draw(hnp.arrays(np.float64, (T, J, 3), elements=st.floats(-3.1, 3.1)))
    positions = data.draw(hnp.arrays(np.float64, (T, J, 3), elements=st.floats(-1.99, 1.99)))
    ids = tok.encode_motion(angles, positions, task="&")
    dec = tok.decode_motion(ids)
    # Re-encoding the decoded motion gives the same ids (decoded values are bin centres).
    assert np.array_equal(tok.encode_motion(dec.angles, dec.positions, task="&"), ids)
    assert np.all(np.abs(dec.angles - angles) <= tok.angle_quantizer.delta / 2 + 1e-9)
    assert tok.decode_motion(tok(tok.motion_to_text(angles, positions, task="&"))["input_ids"]).task == "&"


def test_only_positions_and_only_angles(m5, real_windows):
    angles, positions = real_windows[0]
    dec = m5.decode_motion(m5.encode_motion(positions=positions))
    assert dec.angles is None and dec.positions.shape == positions.shape and dec.task == ">"
    dec = m5.decode_motion(m5.encode_motion(angles=angles, add_special_tokens=False))
    assert dec.positions is None and dec.angles.shape == angles.shape


# ----------------------------------------------------------------- bad input
def test_bad_arrays_raise(m5):
    with pytest.raises(MotionTokenizerError, match=r"\(T, J, 3\)"):
        m5.encode_motion(angles=np.zeros((4, 3)))
    with pytest.raises(MotionTokenizerError, match="same shape"):
        m5.encode_motion(np.zeros((4, 2, 3)), np.zeros((5, 2, 3)))
    with pytest.raises(MotionTokenizerError, match="task"):
        m5.encode_motion(angles=np.zeros((1, 1, 3)), task="?")
    with pytest.raises(MotionTokenizerError, match="needs angles"):
        m5.encode_motion()
    nan = np.zeros((3, 2, 3))
    nan[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*\(1, 0, 2\)"):
        m5.encode_motion(angles=nan)


def test_unknown_and_misplaced_ids_raise_with_position(m5):
    ids = m5.encode_motion(angles=np.zeros((3, 2, 3)))
    bad = ids.copy()
    bad[5] = 99999
    with pytest.raises(MotionTokenizerError, match="unknown token id 99999 at position 5"):
        m5.decode_motion(bad)
    bad = ids.copy()
    bad[5] = m5.unk_token_id
    with pytest.raises(MotionTokenizerError, match=r"frame 0, token 2"):
        m5.decode_motion(bad)
    bad = ids.copy()
    bad[12] = int(m5.position_token_ids()[0])  # a position char inside an angle frame
    with pytest.raises(MotionTokenizerError, match=r"frame 1, token 2"):
        m5.decode_motion(bad)
    with pytest.raises(MotionTokenizerError, match="frame 2 .* has 5 tokens"):
        m5.decode_motion(ids[:-2])
    assert m5.decode_motion(ids[:-2], strict=False).angles.shape == (2, 2, 3)


def test_unknown_characters_in_text(m5):
    text = m5.motion_to_text(angles=np.zeros((2, 1, 3)))
    assert m5.unk_token_id in m5(text[:3] + "x" + text[4:])["input_ids"]
    with pytest.raises(MotionTokenizerError, match=r"unknown character 'x' \(U\+0078\) at position 3"):
        m5.text_to_motion(text[:3] + "x" + text[4:])


def test_fine_digits_out_of_order_raise(fine):
    ids = fine.encode_motion(angles=np.zeros((1, 1, 3)))
    swapped = ids.copy()
    swapped[3], swapped[4] = ids[4], ids[3]
    with pytest.raises(MotionTokenizerError, match="frame 0, token 0"):
        fine.decode_motion(swapped)


# ------------------------------------------------------------ save / load
def test_save_pretrained_round_trip_exact(tmp_path, fine, real_windows):
    q = hm.UniformQuantizer.fit([p for _, p in real_windows], n_bins=4096)
    tok = MotionTokenizer(digits=2, position_quantizer=q, joint_names=["a", "b"])
    tok.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert cfg["tokenizer_class"] == "MotionTokenizer"
    assert cfg["quantization"]["position"]["low"] == q.low.tolist()
    assert cfg["quantization"]["digits"] == 2
    back = MotionTokenizer.from_pretrained(tmp_path)
    assert back.position_quantizer == q and back.digits == 2 and back.joint_names == ["a", "b"]
    assert back.get_vocab() == tok.get_vocab()
    angles, positions = real_windows[1]
    text = tok.motion_to_text(angles, positions, task="$")
    assert np.array_equal(back.encode_motion(angles, positions, "$"), tok.encode_motion(angles, positions, "$"))
    assert back(text)["input_ids"] == tok(text)["input_ids"]
    assert back.decode(back(text)["input_ids"], skip_special_tokens=True) == text


def test_m5_motion_folder_loads_with_autotokenizer_in_fresh_processes(tmp_path):
    assert (M5_DIR / "tokenizer.json").is_file(), "run python tokenizer_configs/build.py"
    shutil.copytree(M5_DIR, tmp_path / "m5-motion")
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    probe = (
        "import numpy as np{imp}\n"
        "from transformers import AutoTokenizer\n"
        "tok = AutoTokenizer.from_pretrained('m5-motion')\n"
        "ids = tok('> 丂丂丂')['input_ids']\n"
        "print(type(tok).__name__, ids, hasattr(tok, 'decode_motion'))\n"
    )
    full = subprocess.run(
        [sys.executable, "-c", probe.format(imp="\nimport hf_motion")],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.split(maxsplit=1)
    plain = subprocess.run(
        [sys.executable, "-c", probe.format(imp="")],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.split(maxsplit=1)
    assert full[0] == "MotionTokenizer" and full[1].endswith("True\n")
    assert plain[0] == "TokenizersBackend" and plain[1].endswith("False\n")
    # Same text-level ids with and without hf_motion.
    assert full[1].rsplit(" ", 1)[0] == plain[1].rsplit(" ", 1)[0]


def test_m5_motion_folder_matches_the_build_script(tmp_path):
    out = tmp_path / "built"
    subprocess.run(
        [sys.executable, str(REPO / "tokenizer_configs" / "build.py"), "--out", str(out)],
        check=True, capture_output=True, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert json.loads((out / "m5-motion" / name).read_text()) == json.loads((M5_DIR / name).read_text())


@settings(max_examples=40, deadline=None)
@given(data=st.data(), digits=st.sampled_from([1, 2]), task=st.sampled_from(["$", "&", ">"]))
def test_property_round_trip_on_real_windows(bandai_motions, data, digits, task):
    """Random windows of real Bandai clips: ids -> arrays within half a bin, text path == array path."""
    tok = MotionTokenizer.m5(256) if digits == 1 else MotionTokenizer.coarse_fine(64)
    m = data.draw(st.sampled_from(bandai_motions))
    length = data.draw(st.integers(1, 20))
    start = data.draw(st.integers(0, m.num_frames - length))
    joints = data.draw(st.sampled_from(["bandai-core", "bandai-full"]))
    sub = m.select_joints(joints).slice(start, start + length)
    angles, positions = sub.rotations, hm.canonicalize_positions(sub.positions())
    ids = tok.encode_motion(angles, positions, task=task)
    assert tok(tok.motion_to_text(angles, positions, task=task))["input_ids"] == ids.tolist()
    dec = tok.decode_motion(ids)
    assert dec.task == task
    assert np.all(np.abs(dec.angles - angles) <= tok.angle_quantizer.delta / 2 + 1e-9)
    inside = np.abs(positions) <= 2.0
    assert np.all(np.abs(dec.positions - positions)[inside] <= tok.position_quantizer.delta[0] / 2 + 1e-9)
