"""The two small networks (PyTorch): the utterance intent classifier and the frame VAD.

:class:`IntentNet` - a temporal-convolution front end in the style of TC-ResNet (S. Choi et al.,
"Temporal Convolution for Real-time Keyword Spotting on Mobile Devices", Interspeech 2019:
1-D convolutions over time with the mel bands as channels), a bidirectional GRU for word order,
and attention pooling over time (as in the attention-based keyword spotters of D. C. de Andrade
et al., "A neural attention model for speech command recognition", arXiv:1808.08929, 2018)
concatenated with masked mean pooling; classes are the command set's intents plus ``none``.
About 110 k parameters, ~7 M multiply-adds for a 2 s utterance.

:class:`VadNet` - a small recurrent network over per-band SNR features (one GRU layer of 32 units);
its weights are exported to NumPy (:mod:`voice.verifier.vad_model`) for frame-by-frame use.
"""

from __future__ import annotations

import torch
from torch import nn

from voice.verifier.features import N_MELS

VAD_PROJ = 32
VAD_HIDDEN = 32


class _Res(nn.Module):
    def __init__(self, ch: int, k: int) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(ch, ch, k, padding=k // 2, bias=False)
        self.b1 = nn.BatchNorm1d(ch)
        self.c2 = nn.Conv1d(ch, ch, k, padding=k // 2, bias=False)
        self.b2 = nn.BatchNorm1d(ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.b1(self.c1(x)))
        return torch.relu(x + self.b2(self.c2(y)))


class IntentNet(nn.Module):
    """Utterance classifier: ``(B, T, N_MELS)`` inputs and a ``(B, T)`` validity mask -> ``(B, C)`` logits.

    Args:
        n_classes: number of intents + 1 (``none``).
        ch1, ch2: convolution channels of the two stages.
        hidden: GRU units per direction.
    """

    def __init__(self, n_classes: int, ch1: int = 48, ch2: int = 64, hidden: int = 48, dropout: float = 0.2) -> None:
        super().__init__()
        self.inp = nn.BatchNorm1d(N_MELS)
        self.conv1 = nn.Sequential(nn.Conv1d(N_MELS, ch1, 5, stride=2, padding=2, bias=False), nn.BatchNorm1d(ch1),
                                   nn.ReLU())
        self.res1 = _Res(ch1, 5)
        self.conv2 = nn.Sequential(nn.Conv1d(ch1, ch2, 3, stride=2, padding=1, bias=False), nn.BatchNorm1d(ch2),
                                   nn.ReLU())
        self.res2 = _Res(ch2, 3)
        self.gru = nn.GRU(ch2, hidden, batch_first=True, bidirectional=True)
        self.att = nn.Linear(2 * hidden, 1)
        self.head = nn.Sequential(nn.Linear(4 * hidden, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, n_classes))

    @staticmethod
    def downsample_mask(mask: torch.Tensor) -> torch.Tensor:
        """The mask after the two stride-2 stages."""
        m = mask[:, ::2]
        return m[:, ::2]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.inp(x.transpose(1, 2))
        h = self.res1(self.conv1(h))
        h = self.res2(self.conv2(h)).transpose(1, 2)  # (B, T/4, ch2)
        m = self.downsample_mask(mask)[:, :h.shape[1]].to(h.dtype)
        h, _ = self.gru(h * m.unsqueeze(-1))
        a = self.att(h).squeeze(-1).masked_fill(m == 0, -1e4)
        w = torch.softmax(a, dim=1).unsqueeze(-1)
        att = (w * h).sum(1)
        mean = (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
        return self.head(torch.cat([att, mean], dim=1))


class EnsembleNet(nn.Module):
    """Several :class:`IntentNet` members as one classifier: the mean of their log-softmax outputs.

    Its softmax is the normalised geometric mean of the members' posteriors (a product of experts
    with equal weights: G. E. Hinton, "Training products of experts by minimizing contrastive
    divergence", Neural Computation 14, 2002), which, unlike the arithmetic mean, lets one
    member's confident "not this intent" veto the class.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.log_softmax(m(x, mask), dim=1) for m in self.members]).mean(0)


class VadNet(nn.Module):
    """Causal frame classifier: ``(B, T, N_MELS)`` SNR features -> ``(B, T)`` speech logits.

    A linear projection with ReLU, one GRU layer (K. Cho et al., "Learning phrase representations
    using RNN encoder-decoder for statistical machine translation", EMNLP 2014) and a linear output:
    the recurrent state can follow the background (babble, beeps) and the foreground talker over
    time, which a frame-wise classifier cannot.
    """

    def __init__(self, proj: int = VAD_PROJ, hidden: int = VAD_HIDDEN) -> None:
        super().__init__()
        self.inp = nn.Linear(N_MELS, proj)
        self.gru = nn.GRU(proj, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(torch.relu(self.inp(x)))
        return self.out(h).squeeze(-1)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
