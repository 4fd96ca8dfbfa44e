"""Instruction tasks and captions for the text+motion model (MotionGPT style).

Two JSON files, shipped with the package (``hf_motion/assets``) and replaceable by your own:

* **tasks** (``text_motion_tasks.json``): each task has input and output phrasings with
  ``{fields}``; :class:`InstructionTask` renders one (input text, target text) pair. Phrasing 0 is
  the one used at inference. Adding a task is adding an entry.
* **caption templates** (``caption_templates.json``): sentences, subjects and phrases per content
  and style label. :func:`caption_from_labels` writes a caption for a clip's labels (seeded);
  :func:`parse_caption` finds the labels back in any caption, generated ones included, by the
  longest phrase it contains.

Users with real captions (HumanML3D style) pass a caption file instead: :func:`load_caption_file`
reads CSV (``clip,text``) or JSON (``{clip: text or [texts]}`` or ``[{"clip":..,"text":..}]``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "InstructionTask",
    "CaptionTemplates",
    "load_tasks",
    "load_caption_templates",
    "caption_from_labels",
    "parse_caption",
    "load_caption_file",
]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _read_json(path: str | os.PathLike | None, default: str) -> tuple[Any, str]:
    if path is None:
        text = resources.files("hf_motion").joinpath("assets", default).read_text(encoding="utf-8")
        return json.loads(text), f"hf_motion/assets/{default}"
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None


@dataclass(frozen=True)
class InstructionTask:
    """One instruction task: input and output phrasings over the same fields."""

    name: str
    description: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        for kind, phrasings in (("inputs", self.inputs), ("outputs", self.outputs)):
            if not phrasings or not all(isinstance(p, str) and p for p in phrasings):
                raise ValueError(f"task {self.name!r}: {kind} must be a non-empty list of non-empty strings")
            first = _fields(phrasings[0])
            for k, p in enumerate(phrasings):
                if _fields(p) != first:
                    raise ValueError(
                        f"task {self.name!r}: {kind}[{k}] {p!r} uses fields {sorted(_fields(p))}, but {kind}[0] uses "
                        f"{sorted(first)}; every phrasing of a task must use the same fields"
                    )

    @property
    def input_fields(self) -> set[str]:
        return _fields(self.inputs[0])

    @property
    def output_fields(self) -> set[str]:
        return _fields(self.outputs[0])

    def prompt(self, values: Mapping[str, Any], phrasing: int = 0) -> str:
        """The input text alone (inference): phrasing ``phrasing`` (default 0, the canonical one)."""
        missing = self.input_fields - set(values)
        if missing:
            raise KeyError(f"task {self.name!r} needs the fields {sorted(missing)}; got {sorted(values)}")
        if not 0 <= phrasing < len(self.inputs):
            raise IndexError(f"task {self.name!r} has {len(self.inputs)} input phrasings; got phrasing={phrasing}")
        return self.inputs[phrasing].format(**values)

    def render(self, values: Mapping[str, Any], phrasing: int | None = None, rng: np.random.Generator | None = None) -> tuple[str, str]:
        """``(input text, target text)``: phrasing ``phrasing`` (default 0), or a random one with ``rng``."""
        missing = (self.input_fields | self.output_fields) - set(values)
        if missing:
            raise KeyError(f"task {self.name!r} needs the fields {sorted(missing)}; got {sorted(values)}")
        if phrasing is None:
            phrasing = int(rng.integers(len(self.inputs))) if rng is not None else 0
        if not 0 <= phrasing < len(self.inputs):
            raise IndexError(f"task {self.name!r} has {len(self.inputs)} input phrasings; got phrasing={phrasing}")
        output = self.outputs[int(rng.integers(len(self.outputs)))] if rng is not None else self.outputs[0]
        return self.inputs[phrasing].format(**values), output.format(**values)


def load_tasks(path: str | os.PathLike | None = None) -> dict[str, InstructionTask]:
    """The instruction tasks of a JSON file (default: the package's ``text_motion_tasks.json``)."""
    data, where = _read_json(path, "text_motion_tasks.json")
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object of tasks, got {type(data).__name__}")
    tasks = {}
    for name, entry in data.items():
        if name.startswith("_"):  # comments
            continue
        if not isinstance(entry, dict) or "inputs" not in entry or "outputs" not in entry:
            raise ValueError(f"{where}: task {name!r} needs 'inputs' and 'outputs' lists")
        tasks[name] = InstructionTask(name, str(entry.get("description", "")), tuple(entry["inputs"]), tuple(entry["outputs"]))
    if not tasks:
        raise ValueError(f"{where} defines no task")
    return tasks


@dataclass(frozen=True)
class CaptionTemplates:
    """Sentences, subjects, and phrases per label of each label head (``content``, ``style``)."""

    sentences: tuple[str, ...]
    subjects: tuple[str, ...]
    phrases: Mapping[str, Mapping[str, tuple[str, ...]]]

    def __post_init__(self) -> None:
        if not self.sentences or not self.subjects:
            raise ValueError("caption templates need at least one sentence and one subject")
        allowed = {"subject"} | set(self.phrases) | {h.capitalize() for h in self.phrases}
        for s in self.sentences:
            unknown = _fields(s) - allowed
            if unknown:
                raise ValueError(f"caption sentence {s!r} uses unknown fields {sorted(unknown)}; known: {sorted(allowed)}")
        for head, table in self.phrases.items():
            for label, options in table.items():
                if not options:
                    raise ValueError(f"caption templates: {head} label {label!r} has no phrase")

    def phrases_of(self, head: str, label: str) -> tuple[str, ...]:
        """The phrases of a label; a label without an entry is written from itself (``walk-fast``: "walk fast")."""
        return tuple(self.phrases.get(head, {}).get(label, ())) or (label.replace("-", " ").replace("_", " "),)


def load_caption_templates(path: str | os.PathLike | None = None) -> CaptionTemplates:
    """Caption templates of a JSON file (default: the package's ``caption_templates.json``)."""
    data, where = _read_json(path, "caption_templates.json")
    try:
        phrases = {h: {k: tuple(v) for k, v in data[h].items()} for h in data if h not in ("sentences", "subjects", "_comment")}
        return CaptionTemplates(tuple(data["sentences"]), tuple(data["subjects"]), phrases)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{where}: expected 'sentences', 'subjects' and one object of phrases per label head ({exc})") from None


def caption_from_labels(labels: Mapping[str, Any], rng: np.random.Generator, templates: CaptionTemplates | None = None) -> str:
    """A caption for a clip's labels, e.g. ``{"content": "walk", "style": "elderly"}`` ->
    "someone walks forward in an elderly way." Heads a sentence names but ``labels`` lacks raise."""
    templates = templates or load_caption_templates()
    sentence = templates.sentences[int(rng.integers(len(templates.sentences)))]
    values: dict[str, str] = {"subject": templates.subjects[int(rng.integers(len(templates.subjects)))]}
    for head in templates.phrases:
        if head not in _fields(sentence) and head.capitalize() not in _fields(sentence):
            continue
        if head not in labels:
            raise KeyError(f"caption sentence {sentence!r} needs the label {head!r}; the clip has {sorted(labels)}")
        options = templates.phrases_of(head, str(labels[head]))
        values[head] = options[int(rng.integers(len(options)))]
        values[head.capitalize()] = values[head][:1].upper() + values[head][1:]
    text = sentence.format(**values)
    return text[:1].upper() + text[1:]


def parse_caption(
    caption: str, templates: CaptionTemplates | None = None, labels: Mapping[str, Sequence[str]] | None = None
) -> dict[str, str | None]:
    """The label of each head that ``caption`` names: the label of the longest phrase found as
    whole words (case-insensitive), or ``None``. ``labels`` limits the candidates (default: the
    labels of the templates)."""
    templates = templates or load_caption_templates()
    text = " " + re.sub(r"[^a-z0-9'\- ]+", " ", caption.lower()) + " "
    out: dict[str, str | None] = {}
    for head, table in templates.phrases.items():
        candidates = list(labels[head]) if labels is not None and head in labels else list(table)
        best, best_len = None, 0
        for label in candidates:
            for phrase in templates.phrases_of(head, label):
                p = " " + re.sub(r"[^a-z0-9'\- ]+", " ", phrase.lower()) + " "
                if p in text and len(p) > best_len:
                    best, best_len = label, len(p)
        out[head] = best
    return out


def load_caption_file(path: str | os.PathLike) -> dict[str, list[str]]:
    """Captions per clip id from CSV (header ``clip,text``; several rows per clip allowed) or JSON
    (``{clip: text | [texts]}`` or ``[{"clip": .., "text": ..}, ...]``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"caption file {path} does not exist")
    out: dict[str, list[str]] = {}

    def add(clip: Any, text: Any, where: str) -> None:
        if not isinstance(clip, str) or not clip or not isinstance(text, str) or not text.strip():
            raise ValueError(f"{path}: {where} needs a clip id and a non-empty text, got clip={clip!r} text={text!r}")
        out.setdefault(clip, []).append(text.strip())

    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"clip", "text"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: the CSV header must name the columns 'clip' and 'text', got {reader.fieldnames}")
            for k, row in enumerate(reader, start=2):
                add(row["clip"], row["text"], f"line {k}")
    elif path.suffix.lower() == ".json":
        data, _ = _read_json(path, "")
        if isinstance(data, dict):
            for clip, texts in data.items():
                for t in [texts] if isinstance(texts, str) else texts:
                    add(clip, t, f"clip {clip!r}")
        elif isinstance(data, list):
            for k, row in enumerate(data):
                if not isinstance(row, dict):
                    raise ValueError(f"{path}: item {k} must be an object with 'clip' and 'text'")
                add(row.get("clip"), row.get("text"), f"item {k}")
        else:
            raise ValueError(f"{path}: expected an object or a list, got {type(data).__name__}")
    else:
        raise ValueError(f"{path}: caption files are .csv (clip,text) or .json; got {path.suffix or 'no suffix'}")
    if not out:
        raise ValueError(f"{path} has no captions")
    return out
