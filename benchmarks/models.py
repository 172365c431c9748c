"""The benchmark workloads: torch modules with seeded random weights (no downloads), built from
the model zoo's blocks (tests/models/zoo.py) where the zoo has them, at benchmark sizes.

    w = WORKLOADS["resnet18"]; module = w.build(); inputs = w.inputs()
    names = export_workload(w, "resnet18.onnx")          # the graph input names, in order

Each workload is what the issue names: MatMul 1024^3, a 3x3 64->64 conv at 56x56 with bias and
ReLU, an MLP 784-512-512-10 at batch 64, ResNet-18 and MobileNetV2 at 1x3x224x224, and a
2-layer transformer encoder (d_model 256, 4 heads, FFN 1024, sequence 128)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn

from tests.models.zoo import (MLP, EncoderLayer, InvertedResidual, ResNet18Style, _encoder_inputs,
                              _randomize_norms, export_onnx)


# ---- the two single-op workloads ---------------------------------------------------------------
class MatMulOp(nn.Module):
    """a @ b with both operands as inputs (as numpy's np.matmul(a, b) sees them)."""

    def forward(self, a, b):
        return torch.matmul(a, b)


class ConvBiasRelu(nn.Module):
    def __init__(self, c_in=64, c_out=64, k=3):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, 1, k // 2, bias=True)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


# ---- MobileNetV2 (the full network, from the zoo's inverted residual block) --------------------
class DepthwiseFirstBlock(nn.Module):
    """MobileNetV2's first block (expansion 1): no expand conv, only the 3x3 depthwise conv-BN-
    ReLU6 and the 1x1 projection conv-BN (the zoo's InvertedResidual always expands)."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, c_in, 3, 1, 1, groups=c_in, bias=False), nn.BatchNorm2d(c_in),
            nn.ReLU6(inplace=True), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.conv(x)


# (expansion t, channels c, repeats n, first stride s): Sandler et al. 2018, table 2
MOBILENETV2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                        (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000, settings=MOBILENETV2_SETTINGS, stem=32, last=1280):
        super().__init__()
        layers = [nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem),
                  nn.ReLU6(inplace=True)]
        c = stem
        for t, c_out, n, s in settings:
            for i in range(n):
                stride = s if i == 0 else 1
                layers.append(DepthwiseFirstBlock(c, c_out) if t == 1 else
                              InvertedResidual(c, c_out, stride=stride, expand=t))
                c = c_out
        layers += [nn.Conv2d(c, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


# ---- transformer encoder (a stack of the zoo's encoder layers) -------------------------------
class Encoder(nn.Module):
    def __init__(self, layers=2, d_model=256, n_heads=4, d_ff=1024):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(d_model, n_heads, d_ff) for _ in range(layers))

    def forward(self, x, mask):
        for layer in self.layers:
            x = layer(x, mask)
        return x


# ---- the workloads -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    build: Callable[[], nn.Module]      # a fresh module in eval mode, seeded weights
    inputs: Callable[[], tuple]         # seeded example inputs (torch tensors)


def _seeded(factory: Callable[[], nn.Module], seed: int = 0) -> Callable[[], nn.Module]:
    def build():
        torch.manual_seed(seed)
        m = factory()
        _randomize_norms(m, torch.Generator().manual_seed(seed + 1))
        return m.eval()
    return build


def _randn(*shapes, seed: int = 100) -> Callable[[], tuple]:
    def make():
        gen = torch.Generator().manual_seed(seed)
        return tuple(torch.randn(*s, generator=gen) for s in shapes)
    return make


WORKLOADS = {w.name: w for w in (
    Workload("matmul", "MatMul 1024x1024 @ 1024x1024 (both operands inputs)",
             _seeded(MatMulOp), _randn((1024, 1024), (1024, 1024))),
    Workload("conv", "Conv 3x3 64->64 + bias + ReLU, 1x64x56x56",
             _seeded(ConvBiasRelu), _randn((1, 64, 56, 56))),
    Workload("mlp", "MLP 784-512-512-10 (ReLU, Tanh), batch 64",
             _seeded(lambda: MLP(784, 512, 10)), _randn((64, 784))),
    Workload("resnet18", "ResNet-18 (zoo ResNet18Style: width 64, ResNet-D shortcuts), "
             "1x3x224x224, 1000 classes",
             _seeded(lambda: ResNet18Style(num_classes=1000, width=64)), _randn((1, 3, 224, 224))),
    Workload("mobilenetv2", "MobileNetV2 (width 1.0), 1x3x224x224, 1000 classes",
             _seeded(MobileNetV2), _randn((1, 3, 224, 224))),
    Workload("transformer", "Transformer encoder, 2 layers, d_model 256, 4 heads, FFN 1024, "
             "1x128 tokens with a padding mask",
             _seeded(Encoder), lambda: _encoder_inputs(100, batch=1, seq=128, d_model=256)),
)}


def export_workload(w: Workload, path) -> list:
    """Export `w` to ONNX at `path` (zoo.export_onnx); returns the graph input names."""
    return export_onnx(w.build(), w.inputs(), path)
