"""Instruction tasks, caption templates and caption files (hf_motion.instructions)."""

from __future__ import annotations

import json
import string
from importlib import resources

import numpy as np
import pytest

from hf_motion.instructions import (
    InstructionTask,
    caption_from_labels,
    load_caption_file,
    load_caption_templates,
    load_tasks,
    parse_caption,
)

SPAN = "<motion_start><motion_id_3><motion_id_515><motion_end>"
VALUES = {
    "caption": "a person walks forward sadly.",
    "motion": SPAN,
    "seconds": "3.2",
    "frames": 64,
    "motion_past": SPAN,
    "motion_future": SPAN,
    "motion_masked": "<motion_start><motion_id_3><motion_mask><motion_id_515><motion_end>",
    "motion_middle": SPAN,
}


def test_every_phrasing_of_every_shipped_task_renders():
    tasks = load_tasks()
    # The tasks the text+motion recipe and the inference API rely on.
    for name in ("text_to_motion", "text_to_motion_seconds", "motion_to_text", "motion_prediction", "inbetweening",
                 "caption_to_duration"):  # fmt: skip
        assert name in tasks
    for task in tasks.values():
        for k, template in enumerate(task.inputs):
            src, tgt = task.render(VALUES, phrasing=k)
            # Every field was filled: no braces left, and each field's value is in the text.
            assert "{" not in src and "}" not in src, (task.name, k)
            for _, f, _, _ in string.Formatter().parse(template):
                if f:
                    assert str(VALUES[f]) in src
            assert "{" not in tgt
        assert task.prompt(VALUES) == task.inputs[0].format(**VALUES)


def test_random_phrasings_cover_the_task_and_are_seeded():
    task = load_tasks()["text_to_motion"]
    draws = [task.render(VALUES, rng=np.random.default_rng(s))[0] for s in range(60)]
    assert len(set(draws)) == len(task.inputs)
    again = [task.render(VALUES, rng=np.random.default_rng(s))[0] for s in range(60)]
    assert draws == again


def test_a_task_with_inconsistent_fields_or_missing_values_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"inputs\[1\].*same fields"):
        InstructionTask("t", "", ("Generate {caption}", "Generate {motion}"), ("{motion}",))
    task = InstructionTask("t", "", ("Generate {caption}",), ("{motion}",))
    with pytest.raises(KeyError, match="caption"):
        task.prompt({"motion": SPAN})
    with pytest.raises(KeyError, match="motion"):
        task.render({"caption": "x"})
    bad = tmp_path / "tasks.json"
    bad.write_text(json.dumps({"t": {"inputs": ["a {x}"]}}))
    with pytest.raises(ValueError, match="'inputs' and 'outputs'"):
        load_tasks(bad)


def test_adding_a_task_is_adding_an_entry(tmp_path):
    tasks = json.loads((resources.files("hf_motion") / "assets" / "text_motion_tasks.json").read_text())
    tasks["mirror"] = {"description": "mirror a motion", "inputs": ["Mirror {motion}"], "outputs": ["{motion}"]}
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    loaded = load_tasks(path)
    assert loaded["mirror"].render(VALUES) == (f"Mirror {SPAN}", SPAN)


def test_captions_name_their_labels_and_parse_back():
    templates = load_caption_templates()
    rng = np.random.default_rng(0)
    for content in templates.phrases["content"]:
        for style in templates.phrases["style"]:
            caption = caption_from_labels({"content": content, "style": style}, rng, templates)
            assert parse_caption(caption, templates) == {"content": content, "style": style}, caption
    # Near-miss phrases resolve to the longest match, not the first.
    assert parse_caption("Someone walks backwards, sadly.")["content"] == "walk-back"
    assert parse_caption("Someone waves the left hand.")["content"] == "wave-left-hand"
    assert parse_caption("A person stands still.") == {"content": None, "style": None}


def test_unknown_labels_are_written_from_the_label_itself():
    rng = np.random.default_rng(1)
    caption = caption_from_labels({"content": "sit-down", "style": "slow"}, rng)
    assert "sit down" in caption and "slow" in caption
    with pytest.raises(KeyError, match="style"):
        caption_from_labels({"content": "walk"}, np.random.default_rng(0))


def test_caption_files_csv_and_json(tmp_path):
    csv_path = tmp_path / "captions.csv"
    csv_path.write_text("clip,text\nc1,a person walks\nc1,someone strolls\nc2,a person jumps\n")
    assert load_caption_file(csv_path) == {"c1": ["a person walks", "someone strolls"], "c2": ["a person jumps"]}
    js = tmp_path / "captions.json"
    js.write_text(json.dumps({"c1": "a person walks", "c2": ["x", "y"]}))
    assert load_caption_file(js) == {"c1": ["a person walks"], "c2": ["x", "y"]}
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"clip": "c1", "text": "t1"}, {"clip": "c1", "text": "t2"}]))
    assert load_caption_file(rows) == {"c1": ["t1", "t2"]}
    bad = tmp_path / "bad.csv"
    bad.write_text("name,caption\nc1,x\n")
    with pytest.raises(ValueError, match="'clip' and 'text'"):
        load_caption_file(bad)
    empty_text = tmp_path / "empty.csv"
    empty_text.write_text("clip,text\nc1,\n")
    with pytest.raises(ValueError, match="line 2"):
        load_caption_file(empty_text)
    with pytest.raises(ValueError, match=r"\.csv .* or \.json"):
        load_caption_file(_touch(tmp_path / "c.txt"))
    with pytest.raises(FileNotFoundError, match="missing"):
        load_caption_file(tmp_path / "missing.csv")


def _touch(path):
    path.write_text("x")
    return path
