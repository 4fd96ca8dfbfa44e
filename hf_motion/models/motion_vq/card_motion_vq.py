"""The model card of a trained motion VQ-VAE, filled from the run's own measurements."""

from __future__ import annotations

from huggingface_hub import ModelCard, ModelCardData

_TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

A learned motion tokenizer: a 1-D convolutional VQ-VAE ({{ quantizer }}, {{ layers }} x {{ codebook_size }} codes,
x{{ downsample }} temporal downsampling, {{ 'causal' if causal else 'non-causal' }} encoder) over pose features
(6D joint rotations, root velocity and height, root-relative joint positions) of a {{ num_joints }}-joint skeleton at
{{ fps }} fps. Built with hf_motion (`pip install hf_motion`); loading needs `import hf_motion`.

## How to use

```python
import hf_motion
from transformers import AutoModel, AutoProcessor, AutoTokenizer

model = AutoModel.from_pretrained("{{ repo }}")
processor = AutoProcessor.from_pretrained("{{ repo }}")
codes = processor.encode(model, "clip.bvh")           # (steps, {{ layers }}) code ids
motion = processor.decode(model, codes)               # a hf_motion.Motion
text = processor.codes_to_text(codes)                 # "<motion_start><motion_id_..>...<motion_end>"
tokenizer = AutoTokenizer.from_pretrained("{{ repo }}")  # the code vocabulary, no custom code
```

Clips must be on the training skeleton (joint names below); other frame rates are resampled to {{ fps }} fps.

## Training data

{{ data }}

## Held-out reconstruction

| metric | value |
|---|---:|
| MPJPE, position channel (mm) | {{ '%.1f' % rec.mpjpe_mm }} |
| MPJPE, FK of decoded rotations (mm) | {{ '%.1f' % rec.mpjpe_fk_mm }} |
| joint angle error (deg) | {{ '%.2f' % rec.angle_error_deg }} |
| codes in use | {{ '%.1f' % (100 * rec.code_usage) }}% |
| perplexity | {{ '%.0f' % rec.perplexity }} |
| tokens per second of motion | {{ rec.tokens_per_second }} |
| encode / decode speed (x real time) | {{ '%.0f' % rec.encode_realtime }} / {{ '%.0f' % rec.decode_realtime }} |

{{ rec.num_clips }} held-out clips ({{ rec.num_frames }} frames), groups never seen in training. Trained
{{ steps }} steps in {{ minutes }} min on {{ machine }}.

## Rate and distortion against uniform bins

{{ table }}

## Skeleton

{{ joints }}

## Limitations

Reconstruction is measured on held-out groups of the training data only. Errors on other skeletons, capture
systems or clinical populations are unknown; refit the tokenizer on your own data before relying on it.
"""


def _public_source(source) -> str:
    """A source as the card shows it: a local folder by its name only (no absolute path of this machine)."""
    from pathlib import Path

    path = Path(str(source)).expanduser()
    return path.name if path.is_absolute() else str(source)


def vq_model_card(model, processor, rec, summary: dict, table: str, repo: str = "path/to/this/folder") -> ModelCard:
    """A :class:`huggingface_hub.ModelCard` with the run's reconstruction and rate-distortion figures."""
    c = model.config
    sources = summary.get("sources", [])
    bandai = any(str(s).startswith("bandai-namco") for s in sources)
    card_data = ModelCardData(
        library_name="hf_motion",
        license="cc-by-nc-4.0" if bandai else None,
        tags=["motion", "motion-tokenizer", "vq-vae", "hf_motion"],
        datasets=["bandai-namco-motion"] if bandai else None,
    )
    data = (
        "Bandai-Namco Research Motiondataset (CC BY-NC 4.0, Kobayashi et al. 2023): " if bandai else "User-provided motion: "
    ) + f"sources {', '.join(map(_public_source, sources))}; clips per split {summary.get('clips')}."
    return ModelCard.from_template(
        card_data,
        template_str=_TEMPLATE,
        model_name=f"Motion VQ-VAE ({c.quantizer}, {c.num_quantizers}x{c.codebook_size})",
        quantizer=c.quantizer, layers=c.tokens_per_step, codebook_size=c.codebook_size, downsample=c.downsample,
        causal=c.causal, num_joints=len(processor.layout.joint_names), fps=f"{processor.fps:g}", repo=repo,
        data=data, rec=rec, steps=summary.get("steps"), minutes=f"{summary.get('train_seconds', 0) / 60:.1f}",
        machine=summary.get("machine"), table=table, joints=", ".join(processor.layout.joint_names),
    )  # fmt: skip
