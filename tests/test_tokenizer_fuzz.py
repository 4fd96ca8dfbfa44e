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
FOLDERS = {
    "m5": REPO / "tokenizer_configs" / "m5-motion",
    "fine": REPO / "tokenizer_configs" / "m5-fine-motion",
    "delta": REPO / "tokenizer_configs" / "m5-delta-motion",
}
NAMES = list(FOLDERS)
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
    st.integers(500, 1600),  # the delta tokenizer's delta alphabets (ids 520..1541) and just beyond
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
        out = None  # valid ids in an invalid order (a structural error with its own message)
    lenient = None
    try:
        lenient = tok.decode_motion(ids, strict=False)
    except MotionTokenizerError:
        assert out is None, "strict=False refused what strict=True decoded"
    for dec in (out, lenient):
        if dec is None:
            continue
        assert isinstance(dec, MotionTokens)
        for kind, arr in (("angle", dec.angles), ("position", dec.positions)):
            assert arr is None or (arr.ndim == 3 and arr.shape[2] == 3 and np.isfinite(arr).all())
            if arr is not None:  # decoded values are always bin centres inside the quantizer's box
                q = tok.angle_quantizer if kind == "angle" else tok.position_quantizer
                assert np.all(arr >= q.low) and np.all(arr <= q.high)
    if out is not None:  # strict decoding succeeded: every frame is complete, so strict=False agrees
        for a, b in ((out.angles, lenient.angles), (out.positions, lenient.positions)):
            assert (a is None and b is None) or np.array_equal(a, b)


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


@pytest.mark.parametrize("tok_name", NAMES)
@FUZZ
@given(data=st.data())
def test_fuzz_decode_motion_lists(tok_name, data):
    _check_decode_motion(tok_name, data.draw(_sequences(tok_name)))


@pytest.mark.parametrize("tok_name", NAMES)
@FUZZ
@given(ids=arrays)
def test_fuzz_decode_motion_arrays(tok_name, ids):
    _check_decode_motion(tok_name, ids)


@pytest.mark.parametrize("tok_name", NAMES)
@FUZZ
@given(data=st.data())
def test_fuzz_decode_lists_and_batches(tok_name, data):
    seq = data.draw(st.one_of(_sequences(tok_name), st.lists(st.lists(elements, max_size=6), min_size=1, max_size=4)))
    _check_decode(tok_name, seq)


@pytest.mark.parametrize("tok_name", NAMES)
@FUZZ
@given(ids=arrays)
def test_fuzz_decode_arrays(tok_name, ids):
    _check_decode(tok_name, ids)


@pytest.mark.parametrize("tok_name", NAMES)
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


@st.composite
def delta_streams(draw):
    """Well-formed delta-coded ids with random changes: (ids, frame kinds, per-frame symbols)."""
    tok = TOKS["delta"]
    J = draw(st.integers(1, 2))
    task = draw(st.sampled_from("$&>"))
    n = draw(st.integers(1, 6))
    kinds = ([1, 2] if task == "$" else [2, 1]) * n if task != ">" else [draw(st.sampled_from([1, 2]))] * n
    big = st.integers(0, 510)
    ids, symbols = [tok.bos_token_id, tok.task_token_ids[task]], []
    seen = {1: 0, 2: 0}
    for k in kinds:
        kind = "angle" if k == 1 else "position"
        key = seen[k] == 0
        seen[k] += 1
        vals = draw(st.lists(st.integers(0, 255) if key else big, min_size=3 * J, max_size=3 * J))
        start = (tok.angle_token_ids() if k == 1 else tok.position_token_ids())[0] if key else tok.delta_token_ids(kind)[0]
        ids += [tok.frame_separator_id] + [int(start) + v for v in vals]
        symbols.append(vals)
    return ids + [tok.eos_token_id], kinds, symbols


@FUZZ
@given(case=delta_streams())
def test_fuzz_delta_changes_decode_strictly_in_range_and_saturate_otherwise(case):
    tok = TOKS["delta"]
    ids, kinds, symbols = case
    out_of_range = False
    saturated = {1: [], 2: []}
    for k in (1, 2):
        rows = [np.array(s) for s, kk in zip(symbols, kinds) if kk == k]
        running, clipped = None, None
        for t, s in enumerate(rows):
            running = s if t == 0 else running + s - 255
            clipped = s if t == 0 else np.clip(clipped + s - 255, 0, 255)
            out_of_range |= bool(np.any((running < 0) | (running > 255)))
            saturated[k].append(clipped)
    lenient = tok.decode_motion(ids, strict=False)
    for k, arr, q in ((1, lenient.angles, tok.angle_quantizer), (2, lenient.positions, tok.position_quantizer)):
        if saturated[k]:
            np.testing.assert_array_equal(q.encode(arr).reshape(len(saturated[k]), -1), np.stack(saturated[k]))
        else:
            assert arr is None
    if out_of_range:
        with pytest.raises(MotionTokenizerError, match=r"outside \[0, 256\)"):
            tok.decode_motion(ids)
    else:
        strict = tok.decode_motion(ids)
        for a, b in ((strict.angles, lenient.angles), (strict.positions, lenient.positions)):
            assert (a is None and b is None) or np.array_equal(a, b)
