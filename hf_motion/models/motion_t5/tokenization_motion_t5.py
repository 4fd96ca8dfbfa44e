"""The merged text + motion vocabulary of the MotionGPT-style model (text and motion in one vocabulary).

* :func:`train_text_tokenizer` trains a small T5-style text tokenizer offline (``tokenizers``
  library; ``<pad>`` = 0, ``</s>`` = 1, ``<unk>`` = 2, Metaspace pre-tokenizer) and returns a plain
  ``TokenizersBackend`` that ``AutoTokenizer`` reloads without ``hf_motion``.
* :func:`motion_vocabulary_tokens` lists the motion tokens of a VQ-VAE (``<motion_start>``,
  ``<motion_end>``, ``<motion_mask>``, ``<motion_id_0..K*L-1>``); :func:`merge_motion_vocabulary`
  adds them to a text tokenizer as non-special, non-normalized ``AddedToken`` s, so that
  ``decode(skip_special_tokens=True)`` keeps the motion and lower-casing never touches it.
* ``motion_vocabulary="m5"`` (:func:`build_text_motion_tokenizer`) merges the characters of the
  older character-level :class:`~hf_motion.tokenizer.MotionTokenizer` instead, through
  :func:`hf_motion.text_motion.add_motion_tokens`.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from transformers import AddedToken

from ..motion_vq.processing_motion_vq import MOTION_END, MOTION_MASK, MOTION_START, code_token

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
MOTION_VOCABULARIES = ("vq", "m5")
TEXT_TOKENIZER_MODELS = ("unigram", "bpe")

__all__ = [
    "MOTION_VOCABULARIES",
    "MotionTokenIds",
    "train_text_tokenizer",
    "motion_vocabulary_tokens",
    "merge_motion_vocabulary",
    "build_text_motion_tokenizer",
    "motion_token_ids",
]


def train_text_tokenizer(texts: Iterable[str], vocab_size: int = 1000, model: str = "unigram", lowercase: bool = True):
    """Train a T5-style text tokenizer on ``texts`` (offline) and wrap it for transformers.

    Conventions of T5: ``<pad>`` id 0 (also the decoder start), ``</s>`` id 1 (eos, appended to
    every encoded text), ``<unk>`` id 2; NFKC (and lower-casing with ``lowercase``) normalisation;
    a Metaspace pre-tokenizer (``▁`` marks a word start). Every ASCII letter, digit and punctuation
    mark is in the alphabet even if ``texts`` lack it, so durations ("2.5 seconds") never become
    ``<unk>``.

    Args:
        texts: the training texts (captions, instructions).
        vocab_size: the wanted vocabulary size; a small corpus can give fewer pieces.
        model: ``"unigram"`` (SentencePiece's model, as T5) or ``"bpe"``.
        lowercase: lower-case the text before tokenizing.

    Returns:
        A ``TokenizersBackend`` (``PreTrainedTokenizerFast``); ``save_pretrained`` writes
        ``tokenizer.json`` + ``tokenizer_config.json`` that a plain ``AutoTokenizer`` loads.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 100:
        raise ValueError(f"vocab_size must be an integer >= 100, got {vocab_size!r}")
    if model not in TEXT_TOKENIZER_MODELS:
        raise ValueError(f"model must be one of {list(TEXT_TOKENIZER_MODELS)}, got {model!r}")
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings, not one string (wrap it in a list)")
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError("train_text_tokenizer needs at least one non-empty text")
    specials = [PAD, EOS, UNK]  # in this order: ids 0, 1, 2
    alphabet = list(string.ascii_lowercase + string.digits + string.punctuation)
    if not lowercase:
        alphabet += list(string.ascii_uppercase)
    if model == "unigram":
        backend = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=specials, unk_token=UNK, initial_alphabet=alphabet,
            max_piece_length=16, show_progress=False,
        )  # fmt: skip
    else:
        backend = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, initial_alphabet=alphabet, show_progress=False)
    norm = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    backend.normalizer = normalizers.Sequence(norm + [normalizers.Replace(Regex(" {2,}"), " ")])
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    backend.train_from_iterator(texts, trainer)
    for i, tok in enumerate(specials):
        if backend.token_to_id(tok) != i:  # the trainer puts special tokens first; a guard, not a hope
            raise RuntimeError(f"{tok} got id {backend.token_to_id(tok)} instead of {i}")
    backend.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", pair=f"$A {EOS} $B {EOS}", special_tokens=[(EOS, 1)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token=PAD, eos_token=EOS, unk_token=UNK)


def motion_vocabulary_tokens(vq_processor) -> list[str]:
    """``<motion_start>``, ``<motion_end>``, ``<motion_mask>``, then ``<motion_id_0..K*L-1>``
    (layer ``l`` of a step uses ``<motion_id_{l*K + code}>``) for a
    :class:`~hf_motion.models.motion_vq.MotionVQProcessor` (or anything with ``codebook_size`` and
    ``tokens_per_step``)."""
    K, L = _codebook(vq_processor)
    return [MOTION_START, MOTION_END, MOTION_MASK] + [code_token(i) for i in range(K * L)]


def _codebook(obj) -> tuple[int, int]:
    try:
        K, L = int(obj.codebook_size), int(obj.tokens_per_step)
    except AttributeError:
        raise TypeError(f"expected a MotionVQProcessor (with codebook_size and tokens_per_step), got {type(obj).__name__}") from None
    if K < 1 or L < 1:
        raise ValueError(f"codebook_size and tokens_per_step must be >= 1, got {K} and {L}")
    return K, L


def _check_text_tokenizer(tok) -> None:
    if not hasattr(tok, "add_tokens") or not hasattr(tok, "convert_tokens_to_ids") or not hasattr(tok, "get_vocab"):
        raise TypeError(f"expected a transformers tokenizer, got {type(tok).__name__}")


def _motion_added_token(t: str) -> AddedToken:
    # Not special: decode(skip_special_tokens=True) must keep motion in the text. Not normalized:
    # lower-casing / NFKC must never change a motion token before it is matched.
    return AddedToken(t, normalized=False, special=False, single_word=False, lstrip=False, rstrip=False)


def _check_collisions(text_tokenizer, tokens: Sequence[str]) -> list[str]:
    """The tokens still to add; raise for one that the text vocabulary already has as another kind
    of token (a learned piece, or an added token with other settings)."""
    vocab = text_tokenizer.get_vocab()
    added = text_tokenizer.added_tokens_decoder
    todo = []
    for t in tokens:
        if t not in vocab:
            todo.append(t)
            continue
        tid = vocab[t]
        have = added.get(tid)
        if have is not None and str(have) == t and not have.normalized and not have.special:
            continue  # merged before: nothing to add
        what = "a piece learned by the text tokenizer" if have is None else f"an added token {have!r}"
        raise ValueError(
            f"the motion token {t!r} is already in the text vocabulary (id {tid}, {what}); train the text "
            "tokenizer on text without motion tokens (or remove that token) before merging the motion vocabulary"
        )
    return todo


def merge_motion_vocabulary(text_tokenizer, tokens):
    """Add the motion vocabulary to ``text_tokenizer`` (in place) and return it.

    Args:
        text_tokenizer: a transformers text tokenizer (e.g. from :func:`train_text_tokenizer` or a
            Hub T5 / GPT-2 tokenizer).
        tokens: the motion token strings (:func:`motion_vocabulary_tokens`), each added as
            ``AddedToken(t, normalized=False, special=False, single_word=False, lstrip=False,
            rstrip=False)``; or a :class:`~hf_motion.tokenizer.MotionTokenizer`, whose characters
            are merged by :func:`hf_motion.text_motion.add_motion_tokens` (the "m5" vocabulary;
            call ``add_motion_tokens`` again on the result for its id mapping, it adds nothing).

    Merging again adds nothing. Resize the model's embeddings afterwards
    (:func:`~hf_motion.models.motion_t5.resize_text_motion_embeddings`).

    Raises:
        ValueError: a motion token is already in the text vocabulary as something else, naming it.
    """
    from ...tokenization.text_motion import FRAME_TOKEN, TASK_TEXT_TOKENS, add_motion_tokens
    from ...tokenization.text_motion import MOTION_END as M5_END
    from ...tokenization.text_motion import MOTION_START as M5_START
    from ...tokenization.tokenizer import MotionTokenizer

    _check_text_tokenizer(text_tokenizer)
    if isinstance(tokens, MotionTokenizer):
        _check_collisions(text_tokenizer, [M5_START, M5_END, FRAME_TOKEN, *TASK_TEXT_TOKENS.values()])
        add_motion_tokens(text_tokenizer, tokens)
        return text_tokenizer
    if isinstance(tokens, str) or not all(isinstance(t, str) and t for t in tokens):
        raise TypeError("tokens must be a list of non-empty strings (motion_vocabulary_tokens(vq_processor)) or a MotionTokenizer")
    tokens = list(tokens)
    if len(set(tokens)) != len(tokens):
        dup = next(t for t in tokens if tokens.count(t) > 1)
        raise ValueError(f"the motion token {dup!r} is listed twice")
    todo = _check_collisions(text_tokenizer, tokens)
    if todo:
        text_tokenizer.add_tokens([_motion_added_token(t) for t in todo])
    for t in tokens:  # each must come back as one token, whatever the tokenizer's pre-tokenizer does
        pieces = text_tokenizer.tokenize(t)
        if pieces != [t]:
            raise ValueError(f"after merging, {t!r} tokenizes to {pieces}, not to itself")
    return text_tokenizer


def build_text_motion_tokenizer(
    texts: Iterable[str],
    motion_vocabulary: str = "vq",
    vq_processor=None,
    motion_tokenizer=None,
    vocab_size: int = 1000,
    model: str = "unigram",
    lowercase: bool = True,
):
    """Train a text tokenizer on ``texts`` and merge a motion vocabulary into it.

    Args:
        motion_vocabulary: ``"vq"`` (the codes of a VQ-VAE; needs ``vq_processor``) or ``"m5"``
            (the characters of the character-level ``MotionTokenizer``; needs ``motion_tokenizer``).
        vocab_size, model, lowercase: as for :func:`train_text_tokenizer`.
    """
    if motion_vocabulary not in MOTION_VOCABULARIES:
        raise ValueError(f"motion_vocabulary must be one of {list(MOTION_VOCABULARIES)}, got {motion_vocabulary!r}")
    if motion_vocabulary == "vq" and vq_processor is None:
        raise ValueError('motion_vocabulary="vq" needs vq_processor=MotionVQProcessor(...)')
    if motion_vocabulary == "m5" and motion_tokenizer is None:
        raise ValueError('motion_vocabulary="m5" needs motion_tokenizer=MotionTokenizer(...)')
    tok = train_text_tokenizer(texts, vocab_size=vocab_size, model=model, lowercase=lowercase)
    if motion_vocabulary == "vq":
        return merge_motion_vocabulary(tok, motion_vocabulary_tokens(vq_processor))
    return merge_motion_vocabulary(tok, motion_tokenizer)


@dataclass(frozen=True)
class MotionTokenIds:
    """Ids of the motion tokens in a merged tokenizer (:func:`motion_token_ids`).

    Attributes:
        start, end, mask: ids of ``<motion_start>``, ``<motion_end>``, ``<motion_mask>``.
        codes: ``(L, K)`` id of code ``c`` of layer ``l`` (the token ``<motion_id_{l*K + c}>``).
    """

    start: int
    end: int
    mask: int
    codes: np.ndarray

    @property
    def codebook_size(self) -> int:
        return int(self.codes.shape[1])

    @property
    def tokens_per_step(self) -> int:
        return int(self.codes.shape[0])

    def all_ids(self) -> np.ndarray:
        """Every motion token id (markers and codes)."""
        return np.concatenate([[self.start, self.end, self.mask], self.codes.reshape(-1)]).astype(np.int64)

    def code_lookup(self, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(layer, code)`` of every token id below ``vocab_size`` (``-1`` for non-code tokens)."""
        layer = np.full(vocab_size, -1, dtype=np.int64)
        code = np.full(vocab_size, -1, dtype=np.int64)
        L, K = self.codes.shape
        layer[self.codes.reshape(-1)] = np.repeat(np.arange(L), K)
        code[self.codes.reshape(-1)] = np.tile(np.arange(K), L)
        return layer, code


def motion_token_ids(tokenizer, codebook_size: int, tokens_per_step: int) -> MotionTokenIds:
    """Look up the motion token ids of a merged tokenizer; raise naming a token it lacks."""
    K, L = int(codebook_size), int(tokens_per_step)
    vocab = tokenizer.get_vocab()
    missing = [t for t in [MOTION_START, MOTION_END, MOTION_MASK] + [code_token(i) for i in range(K * L)] if t not in vocab]
    if missing:
        raise ValueError(
            f"the tokenizer lacks {len(missing)} motion tokens (first: {missing[0]!r}); merge them with "
            "merge_motion_vocabulary(tokenizer, motion_vocabulary_tokens(vq_processor))"
        )
    codes = np.array([[vocab[code_token(book * K + c)] for c in range(K)] for book in range(L)], dtype=np.int64)
    return MotionTokenIds(vocab[MOTION_START], vocab[MOTION_END], vocab[MOTION_MASK], codes)
