"""Fuzz the id-decoding entry points: every input either decodes or raises MotionTokenizerError.

Never OverflowError / TypeError / numpy's bare ValueError, never a silently dropped or truncated
id. The oracle for "which id is bad" and for the decoded text is computed here from the saved
``tokenizer.json`` alone, not from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hf_motion import MotionTokenizer, MotionTokenizerError, MotionTokens

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"m5": REPO / "tokenizer_configs" / "m5-motion", "fine": REPO / "tokenizer_configs" / "m5-fine-motion"}
TOKS = {name: MotionTokenizer.from_pretrained(str(folder)) for name, folder in FOLDERS.items()}
# id -> token, from the saved file (model vocab + added tokens).
ID_TO_TOKEN = {}
for _name, _folder in FOLDERS.items():
    _saved = json.loads((_folder / "tokenizer.json").read_text(encoding="utf-8"))
    _table = {i: t for t, i in _saved["model"]["vocab"].items()}
    _table.update({t["id"]: t["content"] for t in _saved["added_tokens"]})
    ID_TO_TOKEN[_name] = _table

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Elements: mostly plausible ids, plus everything that is not one.
elements = st.one_of(
    st.integers(-3, 600),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([8.0, 8.7, -0.0, 1e30]),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.lists(st.integers(0, 20), max_size=3),
    st.sampled_from([np.int64(5), np.uint64(2**64 - 1), np.int8(-1), np.float32(8.0), np.bool_(True), np.uint8(7)]),
)
dtypes = st.sampled_from([np.int8, np.int16, np.int64, np.uint8, np.uint64, np.float32, np.float64, np.bool_, np.complex64])
arrays = st.one_of(
    hnp.arrays(dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=8)),
    hnp.arrays(np.int64, st.integers(0, 40), elements=st.integers(-5, 600)),
    hnp.arrays(np.uint64, st.integers(0, 40), elements=st.integers(0, 2**64 - 1)),
)


def _valid(tok_name: str, x) -> bool:
    """An integer (not bool, not float) inside the saved vocabulary."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        return False
    return int(x) in ID_TO_TOKEN[tok_name]


def _first_bad(tok_name: str, seq) -> int | None:
    return next((p for p, x in enumerate(seq) if not _valid(tok_name, x)), None)


@st.composite
def mutated_motion(draw, tok_name: str):
    """Real encoded ids (angles and positions) with a few slots replaced by fuzzed elements."""
    tok = TOKS[tok_name]
    T, J = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    values = hnp.arrays(np.float64, (T, J, 3), elements=st.floats(-1.5, 1.5))
    ids = tok.encode_motion(draw(values), draw(values), task=draw(st.sampled_from("$&>"))).tolist()
    for _ in range(draw(st.integers(0, 3))):
        ids[draw(st.integers(0, len(ids) - 1))] = draw(elements)
    return ids


def _sequences(tok_name: str):
    return st.one_of(st.lists(elements, max_size=25), mutated_motion(tok_name), st.tuples(elements, elements))


def _expect_bad_id_error(exc: MotionTokenizerError, p: int, x) -> None:
    msg = str(exc)
    assert f"position {p}" in msg, msg
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        assert str(int(x)) in msg, msg  # the bad id itself is named


def _check_decode_motion(tok_name: str, ids) -> None:
    tok = TOKS[tok_name]
    as_list = None
    if isinstance(ids, np.ndarray):
        if ids.ndim == 1:
            as_list = ids.tolist() if ids.dtype.kind in "iu" else (list(ids) if ids.size else [])
            if ids.size and ids.dtype.kind not in "iu":
                with pytest.raises(MotionTokenizerError, match="position 0"):
                    tok.decode_motion(ids)
                return
    else:
        as_list = list(ids)
    if as_list is None:  # 0-d or n-d arrays are not one sequence
        with pytest.raises(MotionTokenizerError, match="1-D"):
            tok.decode_motion(ids)
        return
    bad = _first_bad(tok_name, as_list)
    if bad is not None:
        with pytest.raises(MotionTokenizerError) as info:
            tok.decode_motion(ids)
        _expect_bad_id_error(info.value, bad, as_list[bad])
        return
    try:
        out = tok.decode_motion(ids)
    except MotionTokenizerError:
        return  # valid ids in an invalid order (a structural error with its own message)
    assert isinstance(out, MotionTokens)
    for arr in (out.angles, out.positions):
        assert arr is None or (arr.ndim == 3 and arr.shape[2] == 3 and np.isfinite(arr).all())


def _check_decode(tok_name: str, ids) -> None:
    tok, table = TOKS[tok_name], ID_TO_TOKEN[tok_name]
    if isinstance(ids, np.ndarray):
        if ids.ndim > 2 or (ids.size and ids.dtype.kind not in "iu"):
            with pytest.raises(MotionTokenizerError):
                tok.decode(ids)
            return
        rows = ids.tolist() if ids.ndim else [ids.item()]
        batch = ids.ndim == 2
    else:
        rows, batch = list(ids), bool(ids) and isinstance(ids[0], (list, tuple))
    if batch:
        for r, row in enumerate(rows):
            if not isinstance(row, (list, tuple)):
                with pytest.raises(MotionTokenizerError, match=f"row {r}"):
                    tok.decode(ids)
                return
            bad = _first_bad(tok_name, row)
            if bad is not None:
                with pytest.raises(MotionTokenizerError) as info:
                    tok.decode(ids)
                _expect_bad_id_error(info.value, bad, row[bad])
                assert f"row {r}" in str(info.value)
                return
        assert tok.decode(ids) == ["".join(table[int(i)] for i in row) for row in rows]
        return
    bad = _first_bad(tok_name, rows)
    if bad is not None:
        with pytest.raises(MotionTokenizerError) as info:
            tok.decode(ids)
        _expect_bad_id_error(info.value, bad, rows[bad])
        return
    assert tok.decode(ids) == "".join(table[int(i)] for i in rows)


@pytest.mark.parametrize("tok_name", ["m5", "fine"])
@FUZZ
@given(data=st.data())
def test_fuzz_decode_motion_lists(tok_name, data):
    _check_decode_motion(tok_name, data.draw(_sequences(tok_name)))


@pytest.mark.parametrize("tok_name", ["m5", "fine"])
@FUZZ
@given(ids=arrays)
def test_fuzz_decode_motion_arrays(tok_name, ids):
    _check_decode_motion(tok_name, ids)


@pytest.mark.parametrize("tok_name", ["m5", "fine"])
@FUZZ
@given(data=st.data())
def test_fuzz_decode_lists_and_batches(tok_name, data):
    seq = data.draw(st.one_of(_sequences(tok_name), st.lists(st.lists(elements, max_size=6), min_size=1, max_size=4)))
    _check_decode(tok_name, seq)


@pytest.mark.parametrize("tok_name", ["m5", "fine"])
@FUZZ
@given(ids=arrays)
def test_fuzz_decode_arrays(tok_name, ids):
    _check_decode(tok_name, ids)


@pytest.mark.parametrize("tok_name", ["m5", "fine"])
@pytest.mark.parametrize(
    "ids, fragment",
    [
        ([1, 7, 99999], "unknown token id 99999 at position 2"),
        ([1, 2**64], "unknown token id 18446744073709551616 at position 1"),
        ([1, -1], "unknown token id -1 at position 1"),
        ([1, 8.7], "8.7 at position 1 is a float"),
        ([1, 8.0], "8.0 at position 1 is a float"),  # integral floats are refused too
        ([1, True], "True at position 1 is a bool"),
        ([1, None], "position 1, got NoneType"),
        ([1, "8"], "position 1, got str"),
        ([1, [8, 9]], "position 1, got list"),
        (np.array([1, 8], dtype=np.float64), "float64 array"),
        (np.array([1, 2**64 - 1], dtype=np.uint64), "18446744073709551615 at position 1"),
        (np.array([1, None], dtype=object), "position 1, got NoneType"),
    ],
)
def test_known_bad_ids_name_the_id_and_position(tok_name, ids, fragment):
    tok = TOKS[tok_name]
    for call in (tok.decode_motion, tok.decode):
        with pytest.raises(MotionTokenizerError) as info:
            call(ids)
        assert fragment in str(info.value)
