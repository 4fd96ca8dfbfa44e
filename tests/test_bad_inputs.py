"""Every case of the bad-input catalogue: a clear error (type + message naming the culprit), never a
silent wrong result, never a crash from inside a dependency. Rows live in ``tests/bad_input_cases``."""

from __future__ import annotations

import importlib
import re
import warnings

import pytest
from bad_input_cases import Case

AREAS = ["tokenizer", "readers", "kinematics_models", "data_runs"]
CASES: list[Case] = []
for _area in AREAS:
    try:
        _module = importlib.import_module(f"bad_input_cases.{_area}")
    except ModuleNotFoundError as exc:  # an area not written yet must not hide the others
        if exc.name != f"bad_input_cases.{_area}":
            raise
        continue
    CASES.extend(_module.CASES)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(CASES) > 0
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case.error is None:
            case.run(tmp_path)
        else:
            with pytest.raises(case.error) as info:
                case.run(tmp_path)
            assert re.search(case.match, str(info.value), re.IGNORECASE | re.DOTALL), (
                f"{case.id}: message {str(info.value)!r} does not match {case.match!r}"
            )
    if case.warning is not None:
        hits = [w for w in caught if issubclass(w.category, case.warning)]
        assert hits, f"{case.id}: expected a {case.warning.__name__}, got {[str(w.message) for w in caught]}"
        if case.error is None and case.match:
            assert any(re.search(case.match, str(w.message), re.IGNORECASE | re.DOTALL) for w in hits), (
                f"{case.id}: no warning matches {case.match!r}: {[str(w.message) for w in hits]}"
            )
