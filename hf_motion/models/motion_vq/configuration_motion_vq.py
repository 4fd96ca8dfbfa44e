"""Configuration of :class:`~hf_motion.models.motion_vq.MotionVQVAE`."""

from __future__ import annotations

import math

from transformers import PretrainedConfig

from ...remote_code import LoaderConfigMixin

QUANTIZERS = ("vq", "residual", "product")


class MotionVQConfig(LoaderConfigMixin, PretrainedConfig):
    """A 1-D convolutional VQ-VAE over pose features (T2M-GPT / MoMask / PoseGPT variants).

    Args:
        input_dim: width of a frame's feature vector (:attr:`hf_motion.PoseFeatureLayout.dim`).
        hidden_size: channels of the convolutions.
        depth: residual blocks per resolution level (dilations 1, 3, 9, ...).
        downsample: temporal downsampling, a power of 2 (4: one code step per 4 frames).
        codebook_size: codes per codebook.
        codebook_dim: width of a code (the encoder's output width).
        lookup_dim: width of the nearest-code search (``None``: ``codebook_dim``). A smaller one
            (ViT-VQGAN's factorized codes: the latent is projected down before the search and back
            up after) keeps more codes in use; for product quantization it is per factor.
        quantizer: ``"vq"`` (one codebook), ``"residual"`` (MoMask: ``num_quantizers`` codebooks,
            each quantizing the previous one's residual) or ``"product"`` (PoseGPT: the code vector
            split into ``num_quantizers`` factors, each with its own codebook).
        num_quantizers: residual layers or product factors (1 for ``"vq"``).
        quantize_dropout: residual only: drop the last layers at random while training (MoMask 0.2),
            so that fewer layers still decode.
        ema_decay: EMA decay of the codebook update (0.99 in T2M-GPT).
        dead_code_threshold: a code whose EMA usage falls below this is reset to a random encoder
            output of the batch (0 turns the reset off).
        kmeans_init: initialise codebooks by k-means on the first batch.
        causal: left-padded encoder convolutions, so that the codes of a step depend only on its
            frames and the past (PoseGPT): a past of any length encodes without seeing the future.
        commitment_weight, velocity_weight: loss weights (0.02 and 0.5 in T2M-GPT); the velocity
            term compares the frame-to-frame change of the position channel.
        position_channel: ``[start, stop]`` of the position channel in the feature vector.
    """

    model_type = "motion_vqvae"

    input_dim: int = 190
    hidden_size: int = 256
    depth: int = 2
    downsample: int = 4
    codebook_size: int = 512
    codebook_dim: int = 256
    lookup_dim: int | None = None
    quantizer: str = "residual"
    num_quantizers: int = 2
    quantize_dropout: float = 0.2
    ema_decay: float = 0.99
    dead_code_threshold: float = 2.0
    kmeans_init: bool = True
    causal: bool = False
    commitment_weight: float = 0.02
    velocity_weight: float = 0.5
    position_channel: list[int] | None = None

    def __post_init__(self, **kwargs) -> None:
        super().__post_init__(**kwargs)
        for name in ("input_dim", "hidden_size", "codebook_size", "codebook_dim", "num_quantizers", "depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.lookup_dim is not None and (
            isinstance(self.lookup_dim, bool) or not isinstance(self.lookup_dim, int) or self.lookup_dim < 1
        ):
            raise ValueError(f"lookup_dim must be a positive integer or None, got {self.lookup_dim!r}")
        d = self.downsample
        if isinstance(d, bool) or not isinstance(d, int) or d < 1 or d & (d - 1):
            raise ValueError(f"downsample must be a power of 2 (1, 2, 4, 8, ...), got {d!r}")
        if self.quantizer not in QUANTIZERS:
            raise ValueError(f"quantizer must be one of {list(QUANTIZERS)}, got {self.quantizer!r}")
        if self.quantizer == "vq" and self.num_quantizers != 1:
            raise ValueError(f"quantizer 'vq' has one codebook; got num_quantizers={self.num_quantizers} (use 'residual' or 'product')")
        if self.quantizer == "product" and self.codebook_dim % self.num_quantizers:
            raise ValueError(f"product quantization splits codebook_dim={self.codebook_dim} into {self.num_quantizers} equal factors")
        if not 0.0 <= self.quantize_dropout < 1.0:
            raise ValueError(f"quantize_dropout must be in [0, 1), got {self.quantize_dropout}")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        if min(self.dead_code_threshold, self.commitment_weight, self.velocity_weight) < 0:
            raise ValueError("dead_code_threshold, commitment_weight and velocity_weight must be >= 0")
        if self.position_channel is not None:
            a, b = (int(x) for x in self.position_channel)
            if not 0 <= a < b <= self.input_dim:
                raise ValueError(f"position_channel {self.position_channel} is not a slice of the {self.input_dim} features")
            self.position_channel = [a, b]

    @property
    def tokens_per_step(self) -> int:
        """Code ids per code step (one per residual layer or product factor)."""
        return self.num_quantizers

    @property
    def levels(self) -> int:
        return int(math.log2(self.downsample))
