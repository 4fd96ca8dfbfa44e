"""Models for text and motion in one vocabulary: a T5 (MotionGPT's choice) or a GPT-2 over the merged tokenizer.

The models are plain transformers classes (``T5ForConditionalGeneration``, ``GPT2LMHeadModel``):
``AutoModelForSeq2SeqLM`` / ``AutoModelForCausalLM`` reload them without ``hf_motion``.

Embedding tying after a resize is where transformers 5 goes wrong silently:
``T5Config`` always sets ``tie_word_embeddings=True`` (a ``False`` only turns off the decoder
output scaling), so ``resize_token_embeddings`` re-ties the output layer to the input embeddings
on every T5, also on a checkpoint loaded with its own trained ``lm_head`` (t5-v1.1, flan-t5): the
trained output layer is thrown away. :func:`resize_text_motion_embeddings` keeps such a head,
and :func:`check_embedding_tying` finds a broken one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers import GenerationConfig

ARCHITECTURES = {"t5": "seq2seq", "gpt2": "causal"}

T5_DEFAULTS = dict(
    d_model=256, d_ff=512, num_layers=3, num_decoder_layers=3, num_heads=4, d_kv=64, dropout_rate=0.1,
    feed_forward_proj="relu", tie_word_embeddings=True,
)  # fmt: skip
GPT2_DEFAULTS = dict(n_embd=256, n_layer=4, n_head=4, n_positions=1024, tie_word_embeddings=True)

__all__ = [
    "ARCHITECTURES",
    "build_text_motion_model",
    "resize_text_motion_embeddings",
    "check_embedding_tying",
    "code_vectors",
    "init_motion_embeddings_from_codebook",
    "is_seq2seq",
]


def is_seq2seq(model) -> bool:
    """Whether ``model`` is an encoder-decoder (T5) rather than a decoder-only LM (GPT-2)."""
    return bool(getattr(model.config, "is_encoder_decoder", False))


def _special_ids(tokenizer, architecture: str) -> dict[str, int]:
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no eos token; train_text_tokenizer gives '</s>' (id 1)")
    if pad is None:
        raise ValueError(
            "the tokenizer has no pad token; add one (tokenizer.add_special_tokens({'pad_token': '<pad>'})) "
            "before merging the motion vocabulary"
        )
    if architecture == "gpt2" and pad == eos:
        # A pad equal to eos makes padded rows look finished and masks the eos label in training.
        raise ValueError(f"for gpt2 the pad token must differ from eos (both are id {eos}); add a separate pad token")
    ids = {"pad_token_id": int(pad), "eos_token_id": int(eos)}
    bos = tokenizer.bos_token_id
    ids["bos_token_id"] = int(bos) if bos is not None else int(eos)  # GPT-2 convention: bos = eos
    return ids


def build_text_motion_model(tokenizer, base_model: str | None = None, architecture: str = "t5", **size: Any):
    """A T5 or GPT-2 language model over the merged text + motion tokenizer.

    Args:
        tokenizer: the merged tokenizer (:func:`~hf_motion.models.motion_t5.merge_motion_vocabulary`).
        base_model: ``None`` builds a small model from a config (offline); a Hub id or folder
            (e.g. ``"google/flan-t5-small"``) loads ``AutoModelForSeq2SeqLM`` (t5) or
            ``AutoModelForCausalLM`` (gpt2) from it and grows its embeddings to the tokenizer
            (new rows at the mean of the old ones, a trained untied output layer kept untied).
        architecture: ``"t5"`` (encoder-decoder, MotionGPT's choice) or ``"gpt2"`` (decoder-only).
        **size: config fields overriding the small defaults (``d_model``, ``num_layers``, ... for
            t5; ``n_embd``, ``n_layer``, ``n_positions``, ... for gpt2); only without ``base_model``.

    The pad, eos (and for T5 decoder start = pad, for GPT-2 bos) ids of the tokenizer are set on
    the config and on ``model.generation_config``.
    """
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        GPT2Config,
        GPT2LMHeadModel,
        T5Config,
        T5ForConditionalGeneration,
    )

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {list(ARCHITECTURES)}, got {architecture!r}")
    ids = _special_ids(tokenizer, architecture)
    seq2seq = ARCHITECTURES[architecture] == "seq2seq"
    if base_model is None:
        if seq2seq:
            kwargs = {**T5_DEFAULTS, **size}
            config = T5Config(
                vocab_size=len(tokenizer), pad_token_id=ids["pad_token_id"], eos_token_id=ids["eos_token_id"],
                decoder_start_token_id=ids["pad_token_id"], **kwargs,
            )  # fmt: skip
            model = T5ForConditionalGeneration(config)
        else:
            kwargs = {**GPT2_DEFAULTS, **size}
            config = GPT2Config(vocab_size=len(tokenizer), **ids, **kwargs)
            model = GPT2LMHeadModel(config)
    else:
        if size:
            raise ValueError(f"size overrides {sorted(size)} apply only without base_model (the checkpoint fixes the sizes)")
        config = AutoConfig.from_pretrained(base_model)
        if bool(getattr(config, "is_encoder_decoder", False)) != seq2seq:
            kind = "an encoder-decoder" if seq2seq else "a decoder-only"
            raise ValueError(
                f"architecture={architecture!r} needs {kind} checkpoint, but {base_model!r} is a {config.model_type} "
                f"({'encoder-decoder' if config.is_encoder_decoder else 'decoder-only'}); pass the matching architecture"
            )
        auto = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
        model = auto.from_pretrained(base_model)
        resize_text_motion_embeddings(model, tokenizer)
        for key, value in ids.items():
            setattr(model.config, key, value)
        if seq2seq:
            model.config.decoder_start_token_id = ids["pad_token_id"]
    gen = model.generation_config if model.generation_config is not None else GenerationConfig()
    gen.pad_token_id, gen.eos_token_id = ids["pad_token_id"], ids["eos_token_id"]
    if seq2seq:
        gen.decoder_start_token_id = ids["pad_token_id"]
    else:
        gen.bos_token_id = ids["bos_token_id"]
    model.generation_config = gen
    check_embedding_tying(model, tokenizer)
    return model


def _output_param_name(model) -> str | None:
    out = model.get_output_embeddings()
    if out is None:
        return None
    for name, module in model.named_modules():
        if module is out:
            return f"{name}.weight"
    return None


def _tied_map(model) -> dict[str, str]:
    # The mapping transformers keeps for this model instance (from the config, minus the pairs that
    # from_pretrained found untied in the checkpoint); save_pretrained and reloading follow it.
    mapping = getattr(model, "all_tied_weights_keys", None)
    if mapping is None:  # transformers 4
        return {} if not getattr(model.config, "tie_word_embeddings", False) else {_output_param_name(model): "input"}
    return dict(mapping)


def resize_text_motion_embeddings(model, tokenizer, mean_resizing: bool = True):
    """Grow ``model``'s embeddings (never shrink: T5 checkpoints have spare rows) to cover
    ``tokenizer`` and keep the output layer as it was: tied stays tied, an untied trained output
    layer stays untied (resized too, its old rows unchanged).

    ``model.resize_token_embeddings`` alone re-ties every T5's output layer in transformers 5
    (``T5Config`` forces ``tie_word_embeddings=True``), which replaces flan-t5's trained ``lm_head``
    by the input embeddings. Returns ``model``.
    """
    from ...tokenization.text_motion import resize_model_embeddings

    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    untied = out is not None and out.weight.data_ptr() != inp.weight.data_ptr()
    head_name = _output_param_name(model)
    resize_model_embeddings(model, tokenizer, mean_resizing=mean_resizing)
    new_in, new_out = model.get_input_embeddings(), model.get_output_embeddings()
    if untied and new_out.weight.data_ptr() == new_in.weight.data_ptr():
        # resize_token_embeddings re-tied it: build the resized head from the old untied one again.
        rows = new_in.weight.shape[0]
        head = model._get_resized_lm_head(out, rows, mean_resizing=mean_resizing)
        head.requires_grad_(out.weight.requires_grad)
        model.set_output_embeddings(head)
        mapping = getattr(model, "all_tied_weights_keys", None)
        if mapping is not None:  # as from_pretrained records a head it found untied in the checkpoint
            mapping.pop(head_name, None)
    return model


def check_embedding_tying(model, tokenizer=None) -> None:
    """Raise ``ValueError`` unless ``model``'s embeddings are consistent after a resize.

    * input and output embeddings have the same number of rows, equal to ``config.vocab_size``
      and at least ``len(tokenizer)`` (Hub T5 checkpoints keep spare rows beyond their tokenizer);
    * every pair that transformers records as tied (``model.all_tied_weights_keys``: the config's
      tying minus heads found untied in the checkpoint) is one tensor (same ``data_ptr``);
    * an output layer recorded as untied is its own tensor: the transformers 5 T5 resize re-ties
      it silently, and the model then predicts with its input embeddings.
    """
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    if inp is None or out is None:
        raise ValueError(f"{type(model).__name__} has no input or output embeddings to check")
    rows_in, rows_out = inp.weight.shape[0], out.weight.shape[0]
    vocab = model.config.get_text_config().vocab_size if hasattr(model.config, "get_text_config") else model.config.vocab_size
    if rows_in != rows_out:
        raise ValueError(
            f"the input embeddings have {rows_in} rows but the output layer has {rows_out}; resize with "
            "resize_text_motion_embeddings(model, tokenizer)"
        )
    if vocab != rows_in:
        raise ValueError(f"config.vocab_size={vocab} but the embeddings have {rows_in} rows; resize with resize_text_motion_embeddings")
    if tokenizer is not None and rows_in < len(tokenizer):
        raise ValueError(
            f"the embeddings have {rows_in} rows but the tokenizer has {len(tokenizer)} tokens; resize with "
            "resize_text_motion_embeddings(model, tokenizer)"
        )
    mapping = _tied_map(model)
    params = dict(model.named_parameters(remove_duplicate=False))
    for target, source in mapping.items():
        if target not in params or source not in params:
            continue
        if params[target].data_ptr() != params[source].data_ptr():
            raise ValueError(
                f"{target} should be tied to {source} (the model's config ties them) but is a separate tensor; "
                "call model.tie_weights() or rebuild with build_text_motion_model"
            )
    head = _output_param_name(model)
    if head not in mapping and out.weight.data_ptr() == inp.weight.data_ptr():
        raise ValueError(
            f"{head} is recorded as untied (the checkpoint has its own trained output layer) but now shares the "
            "input embeddings: resize_token_embeddings / tie_weights re-tied it (transformers 5 forces "
            "tie_word_embeddings=True on T5). Reload the checkpoint and resize with resize_text_motion_embeddings"
        )


def code_vectors(vq) -> np.ndarray:
    """``(L, K, codebook_dim)``: what each code adds to the VQ-VAE's quantized latent, per layer.

    The quantizer's output is affine in each layer's code embedding (residual layers are summed,
    product factors concatenated, then projected), so code ``c`` of layer ``l`` contributes
    ``out(c at l, code 0 elsewhere) - out(code 0 everywhere)``: vectors comparable across codes.
    """
    import torch

    K, L = int(vq.config.codebook_size), int(vq.config.tokens_per_step)
    with torch.no_grad():
        base = vq.quantized_from_codes(torch.zeros((1, 1, L), dtype=torch.long))[0, 0]
        out = []
        for layer in range(L):
            codes = torch.zeros((1, K, L), dtype=torch.long)
            codes[0, :, layer] = torch.arange(K)
            out.append((vq.quantized_from_codes(codes)[0] - base).cpu().numpy())
    return np.stack(out).astype(np.float64)


def init_motion_embeddings_from_codebook(model, tokenizer, vq, seed: int = 0):
    """Start the motion-code rows of ``model``'s input embeddings from the VQ-VAE's codebook.

    A model built from config gives the ``L * K`` code tokens random, unrelated embeddings, which
    it must learn from the clips it sees; codes that decode to similar poses then share
    nothing. Here each code's latent contribution (:func:`code_vectors`) is projected onto its
    principal axes (as many as the embedding width; random directions fill the rest when the
    codebook is narrower) and scaled to the existing rows' standard deviation, so nearby codes start
    as nearby tokens. Markers and text rows are left as they are; a tied output layer follows.
    Returns ``model``.
    """
    import torch

    from .tokenization_motion_t5 import motion_token_ids

    K, L = int(vq.config.codebook_size), int(vq.config.tokens_per_step)
    ids = motion_token_ids(tokenizer, K, L).codes  # (L, K)
    emb = model.get_input_embeddings().weight
    width = emb.shape[1]
    vectors = code_vectors(vq).reshape(L * K, -1)
    vectors = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(vectors, full_matrices=False)
    proj = vectors @ vt[: min(width, vt.shape[0])].T
    if proj.shape[1] < width:
        rng = np.random.default_rng(seed)
        proj = np.concatenate([proj, rng.normal(scale=proj.std(), size=(len(proj), width - proj.shape[1]))], axis=1)
    with torch.no_grad():
        scale = float(emb.std()) / max(float(proj.std()), 1e-12)
        rows = torch.as_tensor(ids.reshape(-1), device=emb.device)
        emb[rows] = torch.as_tensor(proj * scale, dtype=emb.dtype, device=emb.device)
    return model
