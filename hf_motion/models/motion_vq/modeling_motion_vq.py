"""The motion VQ-VAE: convolutional encoder, vector quantizer, convolutional decoder (T2M-GPT's design).

Quantizers come from ``vector-quantize-pytorch`` (EMA codebooks, dead-code reset to random encoder
outputs, residual and multi-head product quantization), which runs on CPU and GPU alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_motion_vq import MotionVQConfig


@dataclass
class MotionVQOutput(ModelOutput):
    """Output of :meth:`MotionVQVAE.forward`.

    Attributes:
        loss: reconstruction + velocity + commitment (when ``return_loss``).
        reconstruction: ``(B, T, D)`` decoded features, in input units (not normalised).
        codes: ``(B, S, L)`` code ids, ``S = T / downsample``, ``L`` tokens per step.
        reconstruction_loss, velocity_loss, commitment_loss: the loss terms.
        perplexity: per-batch perplexity of the code usage (averaged over codebooks).
    """

    loss: torch.Tensor | None = None
    reconstruction: torch.Tensor | None = None
    codes: torch.Tensor | None = None
    reconstruction_loss: torch.Tensor | None = None
    velocity_loss: torch.Tensor | None = None
    commitment_loss: torch.Tensor | None = None
    perplexity: torch.Tensor | None = None


class _Conv(nn.Conv1d):
    """Conv1d that pads itself: symmetric, or on the left only when causal."""

    def __init__(self, cin, cout, kernel, stride=1, dilation=1, causal=False):
        super().__init__(cin, cout, kernel, stride=stride, dilation=dilation)
        total = dilation * (kernel - 1) + 1 - stride
        self.pad = (total, 0) if causal else (total // 2, total - total // 2)

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))


class _ResBlock(nn.Module):
    def __init__(self, width, dilation, causal):
        super().__init__()
        self.conv1 = _Conv(width, width, 3, dilation=dilation, causal=causal)
        self.conv2 = _Conv(width, width, 1, causal=causal)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


def _res_stack(width, depth, causal):
    return nn.Sequential(*[_ResBlock(width, 3**i, causal) for i in range(depth)][::-1])


class _Encoder(nn.Module):
    def __init__(self, c: MotionVQConfig):
        super().__init__()
        w, causal = c.hidden_size, c.causal
        layers = [_Conv(c.input_dim, w, 3, causal=causal), nn.ReLU()]
        for _ in range(c.levels):
            layers += [_Conv(w, w, 4, stride=2, causal=causal), _res_stack(w, c.depth, causal)]
        layers += [_Conv(w, c.codebook_dim, 3, causal=causal)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class _Decoder(nn.Module):
    def __init__(self, c: MotionVQConfig):
        super().__init__()
        w = c.hidden_size
        layers = [_Conv(c.codebook_dim, w, 3), nn.ReLU()]
        for _ in range(c.levels):
            layers += [_res_stack(w, c.depth, False), nn.Upsample(scale_factor=2, mode="nearest"), _Conv(w, w, 3)]
        layers += [_Conv(w, w, 3), nn.ReLU(), _Conv(w, c.input_dim, 3)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


def _quantizer(c: MotionVQConfig) -> nn.Module:
    from vector_quantize_pytorch import ResidualVQ, VectorQuantize

    common = dict(
        codebook_size=c.codebook_size,
        decay=c.ema_decay,
        kmeans_init=c.kmeans_init,
        threshold_ema_dead_code=c.dead_code_threshold,
        commitment_weight=c.commitment_weight,
    )
    if c.quantizer == "residual":
        return ResidualVQ(
            dim=c.codebook_dim,
            num_quantizers=c.num_quantizers,
            # Switched on for a training step with probability quantize_dropout (MotionVQVAE.forward);
            # then the layers after a uniformly drawn one are dropped.
            quantize_dropout=c.quantize_dropout > 0 and c.num_quantizers > 1,
            quantize_dropout_cutoff_index=0,
            codebook_dim=c.lookup_dim,
            **common,
        )
    heads = c.num_quantizers if c.quantizer == "product" else 1
    return VectorQuantize(
        dim=c.codebook_dim,
        heads=heads,
        separate_codebook_per_head=heads > 1,
        codebook_dim=c.lookup_dim or c.codebook_dim // heads,
        **common,
    )


class MotionVQVAE(PreTrainedModel):
    """A VQ-VAE over pose features ``(B, T, D)``; ``T`` must be a multiple of ``config.downsample``
    (the processor pads clips for you).

    ``encode(features) -> codes (B, S, L)`` and ``decode(codes) -> features (B, S*downsample, D)``
    are the tokenizer; ``forward`` is the training step.
    """

    config_class = MotionVQConfig
    base_model_prefix = "motion_vq"
    main_input_name = "features"

    def __init__(self, config: MotionVQConfig):
        super().__init__(config)
        self.encoder = _Encoder(config)
        self.quantizer = _quantizer(config)
        self.decoder = _Decoder(config)
        # Normalisation statistics of the training features, saved in the weights file.
        self.register_buffer("feature_mean", torch.zeros(config.input_dim))
        self.register_buffer("feature_std", torch.ones(config.input_dim))
        self.post_init()

    def _init_weights(self, module):
        # PyTorch's conv defaults and the quantizer's own init; only the statistics need a value
        # when transformers materialises the model from the meta device.
        if module is self:
            self.feature_mean.zero_()
            self.feature_std.fill_(1.0)

    def set_normalization(self, mean, std) -> None:
        """Set the feature statistics (buffers saved with the weights)."""
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        D = self.config.input_dim
        if mean.shape != (D,) or std.shape != (D,) or not bool((std > 0).all()) or not bool(torch.isfinite(mean).all()):
            raise ValueError(f"mean and std must be finite vectors of {D} values, std > 0")
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)

    # ------------------------------------------------------------------ tokenizer API
    def _check(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 3 or features.shape[-1] != self.config.input_dim:
            raise ValueError(f"features must be shaped (B, T, {self.config.input_dim}), got {tuple(features.shape)}")
        if features.shape[1] % self.config.downsample or features.shape[1] == 0:
            raise ValueError(
                f"the number of frames ({features.shape[1]}) must be a positive multiple of downsample="
                f"{self.config.downsample}; MotionVQProcessor pads clips to it"
            )
        return features

    def _latent(self, features):
        x = (self._check(features).float() - self.feature_mean) / self.feature_std
        return x, self.encoder(x.transpose(1, 2)).transpose(1, 2)

    def _codes(self, indices: torch.Tensor) -> torch.Tensor:
        return indices if indices.ndim == 3 else indices.unsqueeze(-1)

    @torch.no_grad()
    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` features -> ``(B, T/downsample, L)`` int64 code ids.

        An untrained model with ``kmeans_init`` initialises its codebooks on the first batch it sees,
        even here: train (or load) a model before using its codes."""
        was = self.training
        self.eval()
        try:
            _, z = self._latent(features)
            _, indices, _ = self.quantizer(z)
        finally:
            self.train(was)
        return self._codes(indices).long()

    def quantized_from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """``(B, S, L)`` code ids -> ``(B, S, codebook_dim)`` quantized latents.

        A residual model also takes the first ``l < L`` layers, ``(B, S, l)``: the coarser code
        (quantizer dropout trains the decoder for it)."""
        L = self.config.tokens_per_step
        coarse = self.config.quantizer == "residual" and codes.ndim == 3 and 1 <= codes.shape[-1] < L
        if codes.ndim != 3 or (codes.shape[-1] != L and not coarse):
            raise ValueError(f"codes must be shaped (B, S, {L}), got {tuple(codes.shape)}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.config.codebook_size):
            raise ValueError(f"code ids must be in [0, {self.config.codebook_size}), got [{int(codes.min())}, {int(codes.max())}]")
        idx = codes.long().to(self.feature_mean.device)
        if self.config.quantizer == "vq":
            idx = idx[..., 0]
        elif coarse:  # -1 marks a dropped layer, as the quantizer's own dropout does
            idx = torch.nn.functional.pad(idx, (0, L - idx.shape[-1]), value=-1)
        return self.quantizer.get_output_from_indices(idx)

    def _decode_latent(self, q):
        x = self.decoder(q.transpose(1, 2)).transpose(1, 2)
        return x * self.feature_std + self.feature_mean

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``(B, S, L)`` code ids -> ``(B, S*downsample, D)`` features (input units)."""
        return self._decode_latent(self.quantized_from_codes(codes))

    # ------------------------------------------------------------------ training
    def forward(
        self, features: torch.Tensor, attention_mask: torch.Tensor | None = None, return_loss: bool = True, **kwargs
    ) -> MotionVQOutput:
        """Encode, quantize and decode ``features (B, T, D)``; ``attention_mask (B, T)`` marks real frames."""
        x, z = self._latent(features)
        mask = torch.ones(x.shape[:2], device=x.device) if attention_mask is None else attention_mask.float()
        d = self.config.downsample
        step_mask = mask.reshape(mask.shape[0], -1, d).amax(-1) > 0  # a step with a real frame counts
        if self.config.quantizer == "residual" and self.config.num_quantizers > 1 and self.config.quantize_dropout > 0:
            self.quantizer.quantize_dropout = self.training and bool(torch.rand(()) < self.config.quantize_dropout)
        # Padded steps neither update the EMA codebooks nor seed dead-code resets.
        q, indices, commit = self.quantizer(z, mask=step_mask)
        commit = commit.sum()
        recon_n = self.decoder(q.transpose(1, 2)).transpose(1, 2)
        out = MotionVQOutput(reconstruction=recon_n * self.feature_std + self.feature_mean, codes=self._codes(indices))
        out.perplexity = _perplexity(out.codes, self.config.codebook_size)
        if not return_loss:
            return out
        rec = (F.smooth_l1_loss(recon_n, x, reduction="none").mean(-1) * mask).sum() / mask.sum().clamp_min(1)
        vel = torch.zeros((), device=x.device)
        if self.config.position_channel is not None and x.shape[1] > 1:
            a, b = self.config.position_channel
            pair = mask[:, 1:] * mask[:, :-1]
            d_pred, d_true = recon_n[:, 1:, a:b] - recon_n[:, :-1, a:b], x[:, 1:, a:b] - x[:, :-1, a:b]
            vel = (F.smooth_l1_loss(d_pred, d_true, reduction="none").mean(-1) * pair).sum() / pair.sum().clamp_min(1)
        out.reconstruction_loss, out.velocity_loss, out.commitment_loss = rec, vel, commit
        out.loss = rec + self.config.velocity_weight * vel + commit  # commitment is weighted by the quantizer
        return out


def _perplexity(codes: torch.Tensor, K: int) -> torch.Tensor:
    perps = []
    for layer in range(codes.shape[-1]):
        ids = codes[..., layer].reshape(-1)
        ids = ids[ids >= 0]  # quantizer dropout marks dropped layers with -1
        if not ids.numel():
            continue
        counts = torch.bincount(ids, minlength=K).float()
        p = counts / counts.sum().clamp_min(1)
        perps.append(torch.exp(-(p * torch.log(p.clamp_min(1e-10))).sum()))
    return torch.stack(perps).mean() if perps else torch.ones(())


AutoConfig.register(MotionVQConfig.model_type, MotionVQConfig, exist_ok=True)
AutoModel.register(MotionVQConfig, MotionVQVAE, exist_ok=True)
