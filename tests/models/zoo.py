"""The model zoo: small torch models built by our own code with seeded random weights (no
downloads), each with its example inputs. They are the golden tests of both frontends: exported
to ONNX (compared with onnxruntime) and traced with torch.fx / torch.export (compared with torch).

Models are kept small so the numpy reference interpreter runs each in well under a second."""
from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn


def _randomize_norms(module: nn.Module, gen: torch.Generator) -> None:
    """Non-trivial BN statistics and BN/LayerNorm affine parameters (not the identity)."""
    for m in module.modules():
        if isinstance(m, nn.LayerNorm):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)


# ---- MLP -----------------------------------------------------------------------------------
class MLP(nn.Module):
    def __init__(self, d_in=16, hidden=32, d_out=10):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.act1 = nn.ReLU()
        self.fc2 = nn.Linear(hidden, hidden)
        self.act2 = nn.Tanh()
        self.fc3 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))


# ---- ResNet-style CNN ----------------------------------------------------------------------
class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU. A strided block downsamples the shortcut
    ResNet-D style: 2x2 average pooling, then a 1x1 conv and BN."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(stride, stride) if stride != 1 else nn.Identity(),
                nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetTiny(nn.Module):
    def __init__(self, num_classes=10, width=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = BasicBlock(width, width)
        self.layer2 = BasicBlock(width, 2 * width, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class ResNet18Style(nn.Module):
    """ResNet-18's shape (7x7/2 stem, max-pool, 4 stages of 2 basic blocks, widths x1..x8) at a
    small width, so the reference interpreter runs it quickly."""

    def __init__(self, num_classes=10, width=8, blocks=(2, 2, 2, 2)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, c = [], width
        for stage, n in enumerate(blocks):
            out = width * 2 ** stage
            for j in range(n):
                layers.append(BasicBlock(c, out, stride=2 if (j == 0 and stage > 0) else 1))
                c = out
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.layers(self.maxpool(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---- MobileNetV2 inverted residual blocks --------------------------------------------------
class InvertedResidual(nn.Module):
    """1x1 expand conv-BN-ReLU6, 3x3 depthwise conv-BN-ReLU6, 1x1 project conv-BN (+ input)."""

    def __init__(self, c_in, c_out, stride=1, expand=6):
        super().__init__()
        hidden = c_in * expand
        self.use_res = stride == 1 and c_in == c_out
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_res else y


class MobileNetV2Blocks(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.block1 = InvertedResidual(c, c, stride=1)       # with the residual add
        self.block2 = InvertedResidual(c, 2 * c, stride=2)   # strided depthwise, no residual

    def forward(self, x):
        return self.block2(self.block1(x))


# ---- Transformer encoder layer -------------------------------------------------------------
class EncoderLayer(nn.Module):
    """Post-norm encoder layer written out by hand: multi-head self-attention from Linear
    projections, reshape/transpose into heads, scaled QK^T plus an additive attention mask,
    softmax, weighted sum of V; add & LayerNorm; FFN with (erf) GELU; add & LayerNorm."""

    def __init__(self, d_model=32, n_heads=4, d_ff=64, dropout=0.1):
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.act = nn.GELU()
        self.ff2 = nn.Linear(d_ff, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, t, b, s):
        return t.view(b, s, self.n_heads, self.d_head).transpose(1, 2)

    def forward(self, x, mask):
        b, s, d = x.shape
        q = self._heads(self.q_proj(x), b, s)
        k = self._heads(self.k_proj(x), b, s)
        v = self._heads(self.v_proj(x), b, s)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.d_head)
        attn = torch.softmax(scores + mask, dim=-1)
        ctx = torch.matmul(self.dropout(attn), v).transpose(1, 2).reshape(b, s, d)
        x = self.norm1(x + self.dropout(self.out_proj(ctx)))
        return self.norm2(x + self.dropout(self.ff2(self.act(self.ff1(x)))))


# ---- the zoo -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZooModel:
    name: str
    build: Callable[[], nn.Module]          # a fresh module in eval mode, seeded weights
    inputs: Callable[[int], tuple]          # example inputs for a seed


def _seeded(cls, seed=0, **kwargs):
    def build():
        torch.manual_seed(seed)
        m = cls(**kwargs)
        _randomize_norms(m, torch.Generator().manual_seed(seed + 1))
        return m.eval()
    return build


def _randn(*shape):
    def make(seed):
        return (torch.randn(*shape, generator=torch.Generator().manual_seed(seed)),)
    return make


def _encoder_inputs(seed, batch=2, seq=8, d_model=32):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, seq, d_model, generator=gen)
    lengths = torch.randint(seq // 2, seq + 1, (batch,), generator=gen)
    padded = torch.arange(seq)[None, :] >= lengths[:, None]             # (batch, seq)
    mask = torch.zeros(batch, 1, 1, seq).masked_fill(padded[:, None, None, :], -1e4)
    return x, mask


ZOO = {m.name: m for m in (
    ZooModel("mlp", _seeded(MLP), _randn(4, 16)),
    ZooModel("resnet", _seeded(ResNetTiny), _randn(1, 3, 32, 32)),
    ZooModel("resnet18_style", _seeded(ResNet18Style), _randn(1, 3, 64, 64)),
    ZooModel("mobilenetv2_block", _seeded(MobileNetV2Blocks), _randn(1, 8, 16, 16)),
    ZooModel("transformer_encoder", _seeded(EncoderLayer), _encoder_inputs),
)}


def input_names(module: nn.Module) -> list:
    return [p for p in inspect.signature(module.forward).parameters]


def export_onnx(module: nn.Module, inputs, path, opset: int = 17) -> list:
    """Export with the legacy (TorchScript) exporter; returns the input names (those of
    forward's parameters), which are also the graph input names."""
    names = input_names(module)[:len(inputs)]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # the legacy exporter is on purpose
        torch.onnx.export(module, tuple(inputs), str(path), opset_version=opset, dynamo=False,
                          input_names=names, do_constant_folding=True)
    return names
