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
FINE_DIR = REPO / "tokenizer_configs" / "m5-fine-motion"
CORE = hm.skeletons.resolve_joint_subset("bandai-core")


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


def test_ik_writes_the_position_frame_before_the_angle_frame(m5, fine, real_windows):
    angles, positions = real_windows[2]
    for tok in (m5, fine):
        W = angles.shape[1] * tok.values_per_joint
        kinds = {}
        for task in ("$", "&"):
            ids = tok.encode_motion(angles, positions, task=task)
            body = ids[2:-1].reshape(2 * len(angles), W + 1)
            assert np.all(body[:, 0] == tok.frame_separator_id)
            kinds[task] = [set(tok.token_kinds[f[1:]].tolist()) for f in body]
            # Frame by frame, the same characters as the angle-only and position-only texts.
            only_a = tok.encode_motion(angles=angles)[2:-1].reshape(len(angles), W + 1)
            only_p = tok.encode_motion(positions=positions)[2:-1].reshape(len(angles), W + 1)
            first, second = (only_a, only_p) if task == "$" else (only_p, only_a)
            np.testing.assert_array_equal(body[0::2], first)
            np.testing.assert_array_equal(body[1::2], second)
            assert tok(tok.motion_to_text(angles, positions, task=task))["input_ids"] == ids.tolist()
        assert kinds["$"] == [{1}, {2}] * len(angles)  # FK: angle frame, then the positions it determines
        assert kinds["&"] == [{2}, {1}] * len(angles)  # IK: position frame, then the angles inferred from it
        fk = tok.decode_motion(tok.encode_motion(angles, positions, task="$"))
        ik = tok.decode_motion(tok.encode_motion(angles, positions, task="&"))
        assert (fk.task, ik.task) == ("$", "&")
        np.testing.assert_array_equal(fk.angles, ik.angles)
        np.testing.assert_array_equal(fk.positions, ik.positions)


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
        for _angles, positions in real_windows:
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
    with pytest.raises(MotionTokenizerError, match=r"angles has a non-finite value nan at frame 1, joint 0.*\(1, 0, 2\)"):
        m5.encode_motion(angles=nan)
    inf = np.zeros((3, 2, 3), np.float32)
    inf[2, 1, 0] = -np.inf
    with pytest.raises(MotionTokenizerError, match=r"positions has a non-finite value -inf at frame 2, joint 1"):
        m5.encode_motion(positions=inf)
    with pytest.raises(MotionTokenizerError, match="complex"):
        m5.encode_motion(angles=np.zeros((2, 2, 3)) + 1j)
    with pytest.raises(MotionTokenizerError, match="real numeric array, got dtype <U"):
        m5.encode_motion(angles=np.full((2, 2, 3), "a"))
    with pytest.raises(MotionTokenizerError, match="not a numeric array"):
        m5.encode_motion(angles=[[[0, 0, 0]], [[0, 0]]])  # ragged


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
    tok = MotionTokenizer(digits=2, position_quantizer=q, joint_names=CORE)
    tok.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert cfg["tokenizer_class"] == "MotionTokenizer"
    assert cfg["quantization"]["position"]["low"] == q.low.tolist()
    assert cfg["quantization"]["digits"] == 2
    back = MotionTokenizer.from_pretrained(tmp_path)
    assert back.position_quantizer == q and back.digits == 2 and back.joint_names == CORE and back.n_joints == 17
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
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(maxsplit=1)
    plain = subprocess.run(
        [sys.executable, "-c", probe.format(imp="")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(maxsplit=1)
    assert full[0] == "MotionTokenizer" and full[1].endswith("True\n")
    assert plain[0] == "TokenizersBackend" and plain[1].endswith("False\n")
    # Same text-level ids with and without hf_motion.
    assert full[1].rsplit(" ", 1)[0] == plain[1].rsplit(" ", 1)[0]


def test_m5_motion_folder_matches_the_build_script(tmp_path):
    out = tmp_path / "built"
    subprocess.run(
        [sys.executable, str(REPO / "tokenizer_configs" / "build.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
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


# --------------------------------------------------------------- skeleton
def test_joint_names_override_on_load_and_survive_save(tmp_path, real_windows):
    tok = MotionTokenizer.from_pretrained(str(M5_DIR), joint_names=CORE)
    assert tok.joint_names == CORE and tok.n_joints == len(CORE)
    assert MotionTokenizer.from_pretrained(str(M5_DIR)).n_joints is None  # the shipped folder has none
    tok.save_pretrained(tmp_path / "core")
    assert json.loads((tmp_path / "core" / "tokenizer_config.json").read_text())["joint_names"] == CORE
    back = MotionTokenizer.from_pretrained(str(tmp_path / "core"))
    assert back.joint_names == CORE
    angles, positions = real_windows[0]
    assert np.array_equal(back.encode_motion(angles, positions), MotionTokenizer.m5(256).encode_motion(angles, positions))
    other = MotionTokenizer.from_pretrained(str(tmp_path / "core"), joint_names=CORE[:3])
    assert other.n_joints == 3
    # Read-only: the property cannot be set and its list is a copy.
    with pytest.raises(AttributeError):
        tok.n_joints = 3
    tok.joint_names.append("x")
    assert tok.n_joints == len(CORE)


def test_joint_count_is_enforced_both_ways(real_windows, bandai_motions):
    tok = MotionTokenizer.m5(256, joint_names=CORE)
    angles, positions = real_windows[0]
    assert tok.decode_motion(tok.encode_motion(angles, positions)).angles.shape == angles.shape
    full = bandai_motions[0].select_joints("bandai-full").slice(0, 5)
    J = full.rotations.shape[1]
    assert J != len(CORE)
    with pytest.raises(MotionTokenizerError, match=rf"angles: expected 17 joints \[Hips, Spine, .*\], got {J}"):
        tok.encode_motion(angles=full.rotations)
    # Fine ids of the same 17 joints have 102 tokens per frame: decoded by the joint-named M5
    # tokenizer they would read as 34 joints. They are refused (their text has unknown characters).
    fine = MotionTokenizer.from_pretrained(str(FINE_DIR))
    ids = fine.encode_motion(angles, positions)
    assert MotionTokenizer.m5(256).decode_motion(ids).angles.shape[1] == 2 * len(CORE)  # the silent misreading
    with pytest.raises(MotionTokenizerError, match=r"has 102 tokens; this tokenizer's 17 joints .* need 17 x 3 x 1 = 51"):
        tok.decode_motion(ids)
    with pytest.raises(MotionTokenizerError, match="unknown character"):
        tok.text_to_motion(fine.motion_to_text(angles, positions))
    fine_core = MotionTokenizer.from_pretrained(str(FINE_DIR), joint_names=CORE)
    with pytest.raises(MotionTokenizerError, match="has 48 tokens; .* need 17 x 3 x 2 = 102"):
        fine_core.text_to_motion(fine.motion_to_text(angles[:, :8]))  # 8 joints of text
    nan = angles.copy()
    nan[3, 5, 1] = np.nan
    with pytest.raises(MotionTokenizerError, match=r"frame 3, joint 5 \(UpperArm_L\), component y"):
        tok.encode_motion(angles=nan)


@pytest.mark.parametrize(
    "names, fragment",
    [("Hips", "list of joint names"), (["a", "a"], "repeats"), ([], "empty"), (["a", 3], r"joint_names\[1\]")],
)
def test_bad_joint_names_raise(names, fragment):
    with pytest.raises(MotionTokenizerError, match=fragment):
        MotionTokenizer(joint_names=names)


# ------------------------------------------------------ special tokens / args
def test_special_tokens_are_fixed():
    with pytest.raises(MotionTokenizerError, match="pad_token equals eos_token"):
        MotionTokenizer(pad_token="<eos>")
    with pytest.raises(MotionTokenizerError, match=r"bos_token must be '<bos>' \(id 1"):
        MotionTokenizer(bos_token="<s>")
    with pytest.raises(MotionTokenizerError, match="no mask_token"):
        MotionTokenizer(mask_token="<mask>")
    tok = MotionTokenizer()
    with pytest.raises(MotionTokenizerError, match="pad_token equals eos_token"):
        tok.pad_token = tok.eos_token  # the GPT-2 habit
    with pytest.raises(MotionTokenizerError, match="pad_token equals eos_token"):
        tok.pad_token_id = tok.eos_token_id
    assert (tok.pad_token, tok.pad_token_id) == ("<pad>", 0)


def test_conflicting_constructor_arguments_raise():
    q = MotionTokenizer.m5(256).quantization
    with pytest.raises(MotionTokenizerError, match="either quantization or digits"):
        MotionTokenizer(quantization=q, digits=2)
    with pytest.raises(MotionTokenizerError, match="either quantization or digits"):
        MotionTokenizer.from_pretrained(str(M5_DIR), digits=2)  # would otherwise be ignored
    with pytest.raises(MotionTokenizerError, match="angle_bins=128 disagrees"):
        MotionTokenizer(angle_quantizer=hm.UniformQuantizer.default_angles(256), angle_bins=128)
    for bad in (3, True, 1.0):
        with pytest.raises(MotionTokenizerError, match="digits must be 1"):
            MotionTokenizer(digits=bad)
    with pytest.raises(MotionTokenizerError, match="quantization lacks"):
        MotionTokenizer(quantization={"digits": 1})


# ------------------------------------------------------------------ ids
def test_decode_entries_validate_ids(m5):
    ids = m5.encode_motion(angles=np.zeros((2, 1, 3)))
    text = m5.decode(ids)
    assert m5.decode(ids.tolist()) == text and m5.decode(tuple(ids.tolist())) == text
    assert m5.decode([ids.tolist(), ids[:3].tolist()]) == [text, m5.decode(ids[:3])]  # batches still work
    with pytest.raises(MotionTokenizerError, match="unknown token id 99999 at position 1"):
        m5.decode([1, 99999, 2])  # used to be dropped silently
    with pytest.raises(MotionTokenizerError, match="row 1, position 0"):
        m5.decode([[1, 2], [99999]])
    with pytest.raises(MotionTokenizerError, match="unknown token id 520 at position 0"):
        m5.convert_ids_to_tokens([520])
    assert m5.convert_ids_to_tokens(5) == "$" and m5.convert_ids_to_tokens([5, 6]) == ["$", "&"]
    with pytest.raises(MotionTokenizerError, match="1-D"):
        m5.decode_motion(np.stack([ids, ids]))
    with pytest.raises(MotionTokenizerError, match="text_to_motion"):
        m5.decode_motion("> 丂丂丂")


def test_decode_motion_takes_torch_tensors(m5):
    import torch

    ids = m5.encode_motion(angles=np.zeros((2, 1, 3)))
    assert m5.decode_motion(torch.tensor(ids)).angles.shape == (2, 1, 3)
    assert m5.decode(torch.tensor(ids)) == m5.decode(ids)
    with pytest.raises(MotionTokenizerError, match="float32 array"):
        m5.decode_motion(torch.tensor(ids, dtype=torch.float32))


# ---------------------------------------------------------- load checks
def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def test_autotokenizer_with_hf_motion_checks_the_two_files(tmp_path):
    from transformers import AutoTokenizer

    folder = _copy(M5_DIR, tmp_path)
    saved = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = saved["model"]["vocab"]
    a, b = (t for t, i in vocab.items() if i in (300, 301))
    vocab[a], vocab[b] = vocab[b], vocab[a]
    (folder / "tokenizer.json").write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    for load in (MotionTokenizer.from_pretrained, AutoTokenizer.from_pretrained):
        with pytest.raises(
            MotionTokenizerError, match=r"tokenizer\.json .* disagrees .*model\.vocab: token .* id 301 in tokenizer\.json, id 300"
        ):
            load(str(folder))


def test_files_must_agree_on_special_tokens_and_pre_tokenizer(tmp_path):
    folder = _copy(FINE_DIR, tmp_path)
    saved = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    saved["added_tokens"][0]["special"] = False
    (folder / "tokenizer.json").write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(MotionTokenizerError, match="added_tokens: id 0"):
        MotionTokenizer.from_pretrained(str(folder))
    saved["added_tokens"][0]["special"] = True
    saved["pre_tokenizer"]["pattern"] = {"Regex": "(?m).."}  # two characters per token on the plain path
    (folder / "tokenizer.json").write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(MotionTokenizerError, match="pre_tokenizer"):
        MotionTokenizer.from_pretrained(str(folder))


def test_a_folder_without_tokenizer_json_loads_from_its_config(tmp_path):
    folder = _copy(FINE_DIR, tmp_path)
    (folder / "tokenizer.json").unlink()
    tok = MotionTokenizer.from_pretrained(str(folder))
    assert tok.get_vocab() == MotionTokenizer.from_pretrained(str(FINE_DIR)).get_vocab()
