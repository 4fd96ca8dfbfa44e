"""The model card of a trained text+motion T5, filled from the run's own measurements."""

from __future__ import annotations

from huggingface_hub import ModelCard, ModelCardData

from ..motion_vq.card_motion_vq import _public_source

_TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

A T5 ({{ params }}M parameters) whose vocabulary is a text vocabulary ({{ text_vocab }} tokens) plus the codes of a
learned motion tokenizer ({{ motion_vocab }} tokens: `<motion_id_N>`, `<motion_start>`, `<motion_end>`, `<motion_mask>`;
a VQ-VAE at {{ fps }} fps, saved in `motion_tokenizer/`). It reads and writes both: text-to-motion, motion-to-text,
prediction and in-betweening, from instructions. Built with hf_motion.

## How to use

The model and its tokenizer load with plain transformers; turning motion spans into a `Motion` needs hf_motion:

```python
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
model = AutoModelForSeq2SeqLM.from_pretrained("{{ repo }}")
tokenizer = AutoTokenizer.from_pretrained("{{ repo }}")       # no custom code

import hf_motion
from hf_motion.models.motion_t5 import TextMotionProcessor
processor = TextMotionProcessor.from_pretrained("{{ repo }}")
motion = hf_motion.text_to_motion(model, processor, "a person waves the right hand, tired", seconds=3)
caption = hf_motion.motion_to_text(model, processor, motion)
```

Clips must be on the training skeleton; other frame rates are resampled to {{ fps }} fps.

## Training

{{ data }}

Stage 1 (pretraining, {{ pretrain_steps }} steps): {{ pretrain_tasks }}, first phrasing. Stage 2 (instruction tuning,
{{ instruct_steps }} steps): {{ instruct_tasks }}, random phrasings. {{ minutes }} min in all on {{ machine }}.

## Held-out evaluation

{{ table }}

R-precision: pools of 32 captions, from a contrastive text-motion evaluator trained on the training clips (saved in
`evaluator/`). Motion-to-text: the content and style labels named by the generated caption. Prediction: the first
20% of a clip given; in-betweening: the first and last 25% given; errors on root-relative joint positions.

## Limitations

{{ limitations }}
"""


def text_motion_model_card(summary: dict, table: str, repo: str = "path/to/this/folder") -> ModelCard:
    """A :class:`huggingface_hub.ModelCard` with the run's figures (``summary`` of train_text_motion.py)."""
    settings = summary["settings"]
    sources = summary.get("sources", [])
    bandai = any(str(s).startswith("bandai-namco") for s in sources)
    captions = settings["data"].get("captions")
    card_data = ModelCardData(
        library_name="transformers",
        pipeline_tag="text2text-generation",
        license="cc-by-nc-4.0" if bandai else None,
        tags=["motion", "text-to-motion", "motion-to-text", "t5", "hf_motion"],
        datasets=["bandai-namco-motion"] if bandai else None,
    )
    data = (
        "Bandai-Namco Research Motiondataset (CC BY-NC 4.0, Kobayashi et al. 2023)" if bandai else "User-provided motion"
    ) + f" (sources {', '.join(map(_public_source, sources))}; clips {summary.get('clips')}). Captions: " + (
        f"the caption file {_public_source(captions)}." if captions
        else "written from each clip's content and style labels by templates, so they say only which action and which "
        "style; they are not free descriptions."
    )  # fmt: skip
    limitations = (
        "Captions are template sentences over labels, so the model knows only those words; it is not a general "
        "text-to-motion model. Measured on held-out groups of the training data only; other skeletons, capture "
        "systems or clinical populations are untested."
        if not captions
        else "Measured on held-out groups of the training data only."
    )
    return ModelCard.from_template(
        card_data,
        template_str=_TEMPLATE,
        model_name="Text and motion T5 (MotionGPT style)",
        params=f"{summary['parameters'] / 1e6:.1f}", text_vocab=summary.get("text_vocabulary"),
        motion_vocab=summary["vocabulary"] - summary.get("text_vocabulary", 0), fps=summary.get("fps"), repo=repo,
        data=data, pretrain_steps=settings["pretrain_steps"], instruct_steps=settings["max_steps"],
        pretrain_tasks=settings["data"]["pretrain_tasks"].replace(",", ", "),
        instruct_tasks=settings["data"]["instruction_tasks"].replace(",", ", "), minutes=f"{summary['total_minutes']:.0f}",
        machine=summary.get("machine"), table=table, limitations=limitations,
    )  # fmt: skip
