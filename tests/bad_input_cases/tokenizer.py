"""Bad-input catalogue, area ``tokenizer``: saved tokenizer folders, the skeleton contract, ids.

Folder cases copy a shipped folder from ``tokenizer_configs/`` into ``tmp_path`` and corrupt the
copy; real motion is a Bandai-Namco dataset-1 clip read in place, and the 31-joint skeleton is
``tests/fixtures/cmu_31joint.bvh``.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np

from bad_input_cases import Case

from conftest import BANDAI1, REPO

M5_DIR = REPO / "tokenizer_configs" / "m5-motion"
FINE_DIR = REPO / "tokenizer_configs" / "m5-fine-motion"
CMU = REPO / "tests" / "fixtures" / "cmu_31joint.bvh"
WALK = BANDAI1 / "dataset-1_walk_normal_001.bvh"


def _tok_class():
    from hf_motion import MotionTokenizer

    return MotionTokenizer


def _core() -> list[str]:
    from hf_motion.skeletons import resolve_joint_subset

    return resolve_joint_subset("bandai-core")


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _load_corrupted(src: Path, file: str, edit):
    def run(tmp_path: Path):
        folder = _copy(src, tmp_path)
        _edit_json(folder / file, edit)
        return _tok_class().from_pretrained(str(folder))

    return run


def _write_text(src: Path, file: str, text: str):
    def run(tmp_path: Path):
        folder = _copy(src, tmp_path)
        (folder / file).write_text(text, encoding="utf-8")
        return _tok_class().from_pretrained(str(folder))

    return run


def _swap_two_entries(saved: dict) -> None:
    vocab = saved["model"]["vocab"]
    a, b = (t for t, i in vocab.items() if i in (100, 101))
    vocab[a], vocab[b] = vocab[b], vocab[a]


def _walk_window():
    """One second of a real walk on the 17-joint core skeleton: (angles, canonical positions)."""
    import hf_motion

    sub = hf_motion.load_bvh(WALK).select_joints("bandai-core").slice(30, 60)
    return sub.rotations, hf_motion.canonicalize_positions(sub.positions())


# --------------------------------------------------------------- folders
def no_such_repo(tmp_path):
    return _tok_class().from_pretrained("no/such-repo")


def typo_local_path(tmp_path):
    _copy(M5_DIR, tmp_path)
    return _tok_class().from_pretrained(str(tmp_path / "m5-motoin"))


def only_tokenizer_json(tmp_path):
    folder = _copy(M5_DIR, tmp_path)
    (folder / "tokenizer_config.json").unlink()
    return _tok_class().from_pretrained(str(folder))


def cli_tokenizer_typo(tmp_path):
    from hf_motion.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["build-dataset", str(WALK), "--out", str(tmp_path / "out"),
                   "--tokenizer", "tokenizer_configs/m5-motoin", "--quiet"])  # fmt: skip
    if rc != 0:
        assert not (tmp_path / "out").exists()
        raise SystemExit(f"exit status {rc}: {err.getvalue()}")


def cli_tokenizer_other_skeleton(tmp_path):
    from hf_motion.cli import main

    _tok_class().from_pretrained(str(M5_DIR), joint_names=["Hips", "Spine", "Chest"]).save_pretrained(tmp_path / "tok")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["build-dataset", str(WALK), "--out", str(tmp_path / "out"), "--tokenizer",
                   str(tmp_path / "tok"), "--joints", "bandai-core", "--quiet"])  # fmt: skip
    if rc != 0:
        raise SystemExit(f"exit status {rc}: {err.getvalue()}")


# ---------------------------------------------------------- special tokens
def pad_assigned_eos(tmp_path):
    tok = _tok_class().from_pretrained(str(M5_DIR))
    tok.pad_token = tok.eos_token


# -------------------------------------------------------------- skeleton
def core_tokenizer_on_cmu_31(tmp_path):
    import hf_motion

    tok = _tok_class().from_pretrained(str(M5_DIR), joint_names=_core())
    m = hf_motion.load_bvh(CMU)
    return tok.encode_motion(m.rotations, task=">")


def fine_ids_on_joint_named_m5(tmp_path):
    angles, positions = _walk_window()
    ids = _tok_class().from_pretrained(str(FINE_DIR)).encode_motion(angles, positions, task="$")
    return _tok_class().from_pretrained(str(M5_DIR), joint_names=_core()).decode_motion(ids)


def fine_text_on_joint_named_fine_subset(tmp_path):
    angles, positions = _walk_window()
    fine = _tok_class().from_pretrained(str(FINE_DIR))
    text = fine.motion_to_text(angles[:, :8], positions[:, :8], task="$")  # 8 of the 17 joints
    return _tok_class().from_pretrained(str(FINE_DIR), joint_names=_core()).text_to_motion(text)


def nan_in_real_angles(tmp_path):
    angles, positions = _walk_window()
    angles = angles.copy()
    angles[7, 4, 1] = np.nan
    return _tok_class().from_pretrained(str(M5_DIR), joint_names=_core()).encode_motion(angles, positions, task="$")


def inf_in_positions(tmp_path):
    angles, positions = _walk_window()
    positions = positions.astype(np.float32)
    positions[0, 16, 2] = np.inf
    return _tok_class().from_pretrained(str(M5_DIR)).encode_motion(positions=positions)


def complex_angles(tmp_path):
    angles, _ = _walk_window()
    return _tok_class().from_pretrained(str(M5_DIR)).encode_motion(angles + 0.1j)


# -------------------------------------------------------------------- ids
def _real_ids(tok_dir: Path) -> list[int]:
    angles, positions = _walk_window()
    return _tok_class().from_pretrained(str(tok_dir)).encode_motion(angles[:2], positions[:2], task="$").tolist()


def _decode_motion_with(position: int, value, tok_dir: Path = M5_DIR):
    def run(tmp_path):
        ids = _real_ids(tok_dir)
        ids[position] = value
        return _tok_class().from_pretrained(str(tok_dir)).decode_motion(ids)

    return run


def decode_unknown_id(tmp_path):
    return _tok_class().from_pretrained(str(M5_DIR)).decode([99999])


def decode_ragged_rows(tmp_path):
    return _tok_class().from_pretrained(str(M5_DIR)).decode_motion([[1, 5], [4]])


def decode_motion_2d_array(tmp_path):
    ids = np.asarray(_real_ids(M5_DIR))
    return _tok_class().from_pretrained(str(M5_DIR)).decode_motion(np.stack([ids, ids]))


def decode_object_array(tmp_path):
    ids = np.array(_real_ids(FINE_DIR), dtype=object)
    ids[9] = "x"
    return _tok_class().from_pretrained(str(FINE_DIR)).decode_motion(ids)


def decode_batch_row_with_float(tmp_path):
    ids = _real_ids(M5_DIR)
    return _tok_class().from_pretrained(str(M5_DIR)).decode([ids, ids[:4] + [8.0]])


CASES = [
    Case("tokenizer-config-no-quantization",
         _load_corrupted(FINE_DIR, "tokenizer_config.json", lambda c: c.pop("quantization")),
         ValueError, r"tokenizer_config\.json \(.*m5-fine-motion.*\) has no 'quantization' field \(tokenizer\.json has 264 tokens\)",
         description="quantization deleted from m5-fine-motion's config: used to load as plain 520-token M5"),
    Case("tokenizer-config-n-bins-mismatch",
         _load_corrupted(M5_DIR, "tokenizer_config.json", lambda c: c["quantization"]["angle"].update(n_bins=128)),
         ValueError, r"tokenizer\.json \(.*\) disagrees with tokenizer_config\.json.*model\.vocab: 520 tokens in tokenizer\.json, 392",
         description="angle n_bins 128 in the config (392 tokens) while tokenizer.json still holds 520"),
    Case("tokenizer-json-swapped-entries", _load_corrupted(M5_DIR, "tokenizer.json", _swap_two_entries),
         ValueError, r"tokenizer\.json .*model\.vocab: token .* is id 101 in tokenizer\.json, id 100 from tokenizer_config\.json",
         description="two vocabulary entries swapped in tokenizer.json: only the plain path's ids changed"),
    Case("tokenizer-json-special-token-id",
         _load_corrupted(M5_DIR, "tokenizer.json", lambda t: t["added_tokens"][0].update(content="<eos>")),
         ValueError, r"tokenizer\.json .*added_tokens: id 0 is '<eos>'",
         description="tokenizer.json's added token 0 renamed to <eos>"),
    Case("tokenizer-config-bad-json", _write_text(M5_DIR, "tokenizer_config.json", '{"tokenizer_class": "MotionTokenizer",'),
         ValueError, r"tokenizer_config\.json \(.*m5-motion.*\) is not valid JSON",
         description="tokenizer_config.json cut off mid-object"),
    Case("tokenizer-json-bad-json", _write_text(FINE_DIR, "tokenizer.json", '{"model": {"vocab": '),
         ValueError, r"tokenizer\.json \(.*m5-fine-motion.*\) is not valid JSON",
         description="tokenizer.json cut off mid-object"),
    Case("tokenizer-json-not-a-tokenizer", _write_text(M5_DIR, "tokenizer.json", '{"model": 3}'),
         ValueError, r"tokenizer\.json \(.*\) is not a valid tokenizers file",
         description="tokenizer.json is JSON but not a tokenizers serialization"),
    Case("tokenizer-only-tokenizer-json", only_tokenizer_json, ValueError,
         r"tokenizer\.json: no tokenizer_config\.json beside it",
         description="a folder holding tokenizer.json without its config (no quantization ranges)"),
    Case("tokenizer-config-pad-equals-eos",
         _load_corrupted(M5_DIR, "tokenizer_config.json", lambda c: c.update(pad_token="<eos>")),
         ValueError, r"tokenizer_config\.json \(.*\): pad_token equals eos_token \('<eos>'\)",
         description="pad_token: <eos> in the config (sequence classification needs pad != eos)"),
    Case("tokenizer-pad-assigned-eos", pad_assigned_eos, ValueError, r"pad_token equals eos_token",
         description="tok.pad_token = tok.eos_token after loading (the GPT-2 habit)"),
    Case("tokenizer-config-bert-class",
         _load_corrupted(M5_DIR, "tokenizer_config.json", lambda c: c.update(tokenizer_class="BertTokenizer")),
         ValueError, r"tokenizer_config\.json \(.*\) has tokenizer_class 'BertTokenizer'",
         description="tokenizer_class: BertTokenizer, loaded with MotionTokenizer.from_pretrained"),
    Case("tokenizer-config-bad-quantizer-field",
         _load_corrupted(M5_DIR, "tokenizer_config.json", lambda c: c["quantization"]["position"].update(n_bins=255.5)),
         ValueError, r"tokenizer_config\.json \(.*\): quantization\.position: n_bins must be an integer, got 255\.5",
         description="a non-integral n_bins in the config (used to be truncated)"),
    Case("tokenizer-no-such-repo", no_such_repo, OSError, r"'no/such-repo': no tokenizer_config\.json or tokenizer\.json",
         description="MotionTokenizer.from_pretrained('no/such-repo') used to return a default 256-bin tokenizer"),
    Case("tokenizer-typo-local-path", typo_local_path, OSError, r"m5-motoin",
         description="a misspelt local folder (m5-motoin) used to load as the default tokenizer"),
    Case("tokenizer-cli-build-dataset-typo", cli_tokenizer_typo, SystemExit,
         r"exit status 1: hf-motion build-dataset: error: --tokenizer tokenizer_configs/m5-motoin: .*m5-motoin",
         description="hf-motion build-dataset --tokenizer with a typo used to build with the default tokenizer"),
    Case("tokenizer-cli-build-dataset-other-skeleton", cli_tokenizer_other_skeleton, SystemExit,
         r"exit status 1: .*saved for 3 joints \['Hips', 'Spine', 'Chest'\], but the .*17 joints",
         description="build-dataset with a tokenizer saved for 3 joints and --joints bandai-core"),
    Case("tokenizer-17-joints-given-31-joint-data", core_tokenizer_on_cmu_31, ValueError,
         r"angles: expected 17 joints \[Hips, Spine, .*\], got 31",
         description="a tokenizer with the 17 bandai-core joint_names encoding the 31-joint CMU clip"),
    Case("tokenizer-fine-ids-on-joint-named-m5", fine_ids_on_joint_named_m5, ValueError,
         r"frame 0 .* has 102 tokens; this tokenizer's 17 joints .* need 17 x 3 x 1 = 51",
         description="m5-motion with 17 joint_names decoding m5-fine-motion ids (used to decode as 34 joints)"),
    Case("tokenizer-short-frames-text-on-joint-named-fine", fine_text_on_joint_named_fine_subset, ValueError,
         r"has 48 tokens; this tokenizer's 17 joints .* need 17 x 3 x 2 = 102",
         description="text_to_motion of 8-joint frames with a 17-joint fine tokenizer"),
    Case("tokenizer-nan-input", nan_in_real_angles, ValueError,
         r"angles has a non-finite value nan at frame 7, joint 4 \(Head\), component y",
         description="a NaN in a real walk's angles"),
    Case("tokenizer-inf-input", inf_in_positions, ValueError,
         r"positions has a non-finite value inf at frame 0, joint 16",
         description="an inf in float32 positions"),
    Case("tokenizer-complex-input", complex_angles, ValueError, r"angles is complex",
         description="complex angles (the imaginary part used to be dropped)"),
    Case("tokenizer-decode-overflow-id", _decode_motion_with(5, 2**64), ValueError,
         r"decode_motion: unknown token id 18446744073709551616 at position 5",
         description="an id >= 2**64 in real ids (used to raise OverflowError)"),
    Case("tokenizer-decode-negative-id", _decode_motion_with(5, -3), ValueError, r"unknown token id -3 at position 5",
         description="a negative id"),
    Case("tokenizer-decode-float-id", _decode_motion_with(6, 8.7, FINE_DIR), ValueError,
         r"id 8\.7 at position 6 is a float",
         description="a float id 8.7 (used to be truncated to 8)"),
    Case("tokenizer-decode-none-id", _decode_motion_with(3, None), ValueError, r"position 3, got NoneType None",
         description="None among the ids"),
    Case("tokenizer-decode-bool-id", _decode_motion_with(0, True), ValueError, r"id True at position 0 is a bool",
         description="True in place of <bos> (id 1)"),
    Case("tokenizer-decode-unknown-id", decode_unknown_id, ValueError, r"decode: unknown token id 99999 at position 0",
         description="tok.decode([99999]) used to drop the id silently"),
    Case("tokenizer-decode-ragged-rows", decode_ragged_rows, ValueError, r"position 0, got list",
         description="a ragged nested list given to decode_motion (used to raise numpy's bare ValueError)"),
    Case("tokenizer-decode-2d-array", decode_motion_2d_array, ValueError, r"1-D sequence of ids, got an array of shape \(2, ",
         description="a 2-D id array given to decode_motion"),
    Case("tokenizer-decode-object-array", decode_object_array, ValueError, r"position 9, got str 'x'",
         description="a numpy object array holding a string"),
    Case("tokenizer-decode-batch-float", decode_batch_row_with_float, ValueError, r"8\.0 at row 1, position 4 is a float",
         description="an integral float 8.0 in row 1 of a decode batch (floats are refused, integral or not)"),
]  # fmt: skip
