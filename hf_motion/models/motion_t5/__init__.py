"""Text and motion in one vocabulary (MotionGPT style): a T5 or GPT-2 over a text tokenizer merged
with the codes of the motion VQ-VAE, its processor, and constrained generation."""

from .tokenization_motion_t5 import (
    MOTION_VOCABULARIES,
    MotionTokenIds,
    build_text_motion_tokenizer,
    merge_motion_vocabulary,
    motion_token_ids,
    motion_vocabulary_tokens,
    train_text_tokenizer,
)
from .modeling_motion_t5 import (
    ARCHITECTURES,
    build_text_motion_model,
    check_embedding_tying,
    code_vectors,
    init_motion_embeddings_from_codebook,
    is_seq2seq,
    resize_text_motion_embeddings,
)
from .processing_motion_t5 import MOTION_TOKENIZER_DIR, TEXT_MOTION_CONFIG, TextMotionProcessor
from .generation_motion_t5 import (
    MotionSpanLogitsProcessor,
    build_prompt,
    continue_motion_codes,
    format_seconds,
    generate_motion_codes,
    generate_text,
    inbetween_codes,
    motion_to_text,
    text_to_motion,
)

__all__ = [
    "MOTION_VOCABULARIES",
    "MotionTokenIds",
    "build_text_motion_tokenizer",
    "merge_motion_vocabulary",
    "motion_token_ids",
    "motion_vocabulary_tokens",
    "train_text_tokenizer",
    "ARCHITECTURES",
    "build_text_motion_model",
    "check_embedding_tying",
    "code_vectors",
    "init_motion_embeddings_from_codebook",
    "is_seq2seq",
    "resize_text_motion_embeddings",
    "MOTION_TOKENIZER_DIR",
    "TEXT_MOTION_CONFIG",
    "TextMotionProcessor",
    "MotionSpanLogitsProcessor",
    "build_prompt",
    "continue_motion_codes",
    "format_seconds",
    "generate_motion_codes",
    "generate_text",
    "inbetween_codes",
    "motion_to_text",
    "text_to_motion",
]
