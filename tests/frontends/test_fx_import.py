"""Unit tests of the torch.fx frontend: each conversion family on the symbolic_trace path and
the torch.export path (decomposed to core ATen, and undecomposed), compared with torch eager;
every imported graph verifies and round-trips through the printer and parser. Also the error
paths (unsupported targets listed in one error, training mode, missing inputs, no torch),
parameters as shared-memory constants, shapes from the example inputs and dtype handling."""
from __future__ import annotations

import inspect
import operator
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from backends.reference import run_graph  # noqa: E402
from compiler.errors import AiccError, UnsupportedError  # noqa: E402
from compiler.ir.parser import parse_graph  # noqa: E402
from compiler.ir.printer import print_graph  # noqa: E402
from compiler.ir.verifier import verify  # noqa: E402
from frontends.fx import FxImportError, import_fx  # noqa: E402
from frontends.fx import lowering_aten, lowering_torch  # noqa: E402

PATHS = ("fx", "export", "export_raw")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")


def convert(module, inputs, path, ep=None):
    if path == "fx":
        return import_fx(module, inputs)
    ep = ep or torch.export.export(module, tuple(inputs))
    return import_fx(ep, decompose=(path == "export"))


def check(module, *inputs, paths=PATHS, rtol=1e-5, atol=1e-6):
    """Import on each path, verify, round-trip the text, run and compare with torch."""
    module.eval()
    with torch.no_grad():
        expected = module(*inputs)
    expected = [t for t in torch.utils._pytree.tree_leaves(expected) if t is not None]
    tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
    graphs = {}
    ep = torch.export.export(module, tuple(inputs)) if set(paths) - {"fx"} else None
    for path in paths:
        g = convert(module, inputs, path, ep)
        verify(g)
        text = print_graph(g)
        assert print_graph(parse_graph(text, weights=g.weights())) == text
        got = run_graph(g, {v.name: t.numpy() for v, t in zip(g.inputs, tensors)})
        assert len(g.outputs) == len(expected), path
        for name, want in zip(g.output_names, expected):
            want = want.numpy()
            assert got[name].dtype == want.dtype, (path, name)
            assert got[name].shape == want.shape, (path, name)
            np.testing.assert_allclose(got[name], want, rtol=rtol, atol=atol, err_msg=path)
        graphs[path] = g
    return graphs


class Fn1(nn.Module):
    def __init__(self, fn, **children):
        super().__init__()
        self.fn = fn
        for k, v in children.items():
            setattr(self, k, v)

    def forward(self, x):
        return self.fn(self, x)


class Fn2(Fn1):
    def forward(self, x, y):
        return self.fn(self, x, y)


class Fn3(Fn1):
    def forward(self, x, y, z):
        return self.fn(self, x, y, z)


def fn_module(fn, **children):
    n = len(inspect.signature(fn).parameters) - 1
    return {1: Fn1, 2: Fn2, 3: Fn3}[n](fn, **children)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def prelu4():
    p = nn.PReLU(4)
    with torch.no_grad():
        p.weight.copy_(torch.tensor([0.1, 0.2, -0.3, 0.4]))
    return p


X = randn(2, 3, 4)
Y = randn(2, 3, 4, seed=1)
IMG = randn(2, 4, 8, 8)
I64 = torch.tensor([[3, -7, 5], [0, 9, -2]])
MASK = torch.tensor([[True, False, True, False]])

# ---- conversion families: (id, function of (module, *inputs), inputs) -------------------------
CASES = [
    # arithmetic with torch's type promotion
    ("add_alpha", lambda m, x, y: torch.add(x, y, alpha=2) - 1.5, (X, Y)),
    ("scalars", lambda m, x: (x * 0.5 + 2 - x / 3, 2 - x, 1 / (x.abs() + 1), x ** 2,
                              2 ** x, -x), (X,)),
    ("int_promotion", lambda m, i: (i + 1.5, i / 2, i // 3, i % 3, i * 2, i.float() * i),
     (I64,)),
    ("int_mixed", lambda m, i, j: (i + j, i.int() * j.int(), torch.maximum(i, j)),
     (I64, I64.flip(0))),
    ("div_modes", lambda m, x, y: (torch.div(x, y, rounding_mode="floor"),
                                   torch.div(x, y, rounding_mode="trunc"), torch.remainder(x, y)),
     (X * 4, Y)),
    ("int_div_modes", lambda m, i: (torch.div(i, 4, rounding_mode="floor"),
                                    torch.div(i, 4, rounding_mode="trunc")), (I64,)),
    ("compare_logic", lambda m, x, y: ((x > 0) & (y < 0.5) | ~(x == y), x != y, x <= 0.1,
                                       torch.logical_not(x >= y), torch.where(x > y, x, y),
                                       torch.where(x > 0, x, 0.0)), (X, Y)),
    ("masked_fill_bool_input", lambda m, x, mask: x.masked_fill(mask, -1e9), (X, MASK)),
    ("clamp", lambda m, x, y: (x.clamp(-0.5, 0.5), torch.clamp(x, min=y), x.clamp(max=0.2),
                               x.clamp_min(0.0)), (X, Y)),
    # unary math and activations
    ("math", lambda m, x: (x.exp(), torch.log(x.abs() + 1), x.abs().sqrt(),
                           torch.rsqrt(x.abs() + 1), x.sin(), x.cos(), torch.erf(x), x.floor(),
                           x.ceil(), x.sigmoid(), x.tanh(), x.reciprocal(), x.sign()), (X,)),
    ("int_to_float_math", lambda m, i: (torch.exp(i.clamp(-3, 3)), i.abs(), -i), (I64,)),
    ("activations", lambda m, x: (F.relu(x), F.relu6(x * 8), F.gelu(x),
                                  F.gelu(x, approximate="tanh"), F.silu(x), F.hardswish(x * 4),
                                  F.hardsigmoid(x * 4),
                                  F.leaky_relu(x, 0.2), F.elu(x), F.selu(x), F.celu(x, 0.5),
                                  F.softplus(x, beta=2), F.mish(x), F.logsigmoid(x),
                                  F.hardtanh(x, -0.3, 0.3), F.softsign(x),
                                  F.threshold(x, 0.1, -1.0), torch.relu(x)), (X,)),
    ("activation_modules", lambda m, x: [mod(x) for mod in m.acts], (IMG,), lambda: dict(
        acts=nn.ModuleList([
            nn.ReLU(), nn.ReLU6(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Sigmoid(),
            nn.Tanh(), nn.Hardswish(), nn.LeakyReLU(0.1), prelu4(), nn.Softmax(dim=1),
            nn.LogSoftmax(dim=-1), nn.ELU(0.5), nn.Softplus(), nn.Mish(), nn.Hardtanh(-1, 2),
            nn.Identity(), nn.Dropout(0.3), nn.Flatten()]))),
    ("softmax", lambda m, x: (F.softmax(x, dim=1), x.log_softmax(-1), torch.softmax(x, 0)), (X,)),
    # shapes and data movement (static shapes make size arithmetic plain Python ints)
    ("view_size_arith", lambda m, x: x.view(x.size(0), -1).reshape(
        x.shape[0] * x.shape[1], x.shape[2] * x.shape[3] // 2, 2).permute(2, 0, 1)
        .contiguous().transpose(0, 1), (IMG,)),
    ("flatten", lambda m, x: (torch.flatten(x, 1), x.flatten(0, 1), x.flatten(),
                              x.flatten(1).unflatten(1, (4, 8, 8))), (IMG,)),
    ("squeeze_unsqueeze", lambda m, x: (x.unsqueeze(1).squeeze(2), x[:, None].squeeze(),
                                        x.unsqueeze(-1), x.squeeze(0)), (X,)),
    ("expand_repeat", lambda m, x, y: (y.expand(4, -1), x.expand(2, 2, 3, 4), x.repeat(2, 1, 1),
                                       y.repeat(2, 1, 2), y.expand_as(x[0, :1].T.expand(4, 3))),
     (X, randn(1, 3))),
    ("cat_stack_split", lambda m, x, y: (torch.cat([x, y], 1), torch.stack([x, y], -1),
                                         x.split(2, dim=2)[1], x.chunk(2, dim=-1)[0],
                                         torch.unbind(y, 1)[2], x.split([1, 2], 1)[1]), (X, Y)),
    ("getitem", lambda m, x: (x[:, 1:3], x[..., -1], x[0], x[:, None, ::2], x[1, :, 2:],
                              x[:, [0, 2]]), (X,)),
    ("getitem_index_tensor", lambda m, x, idx: (x[idx], x[:, idx[:2]], x.index_select(2, idx),
                                                x[0, :, idx], x[..., idx, 1]),
     (IMG, torch.tensor([1, 0, 1]))),
    ("getitem_two_index_tensors", lambda m, x, i, j: (x[i, j], x[:, i, :, j], x[:, :, i, j]),
     (IMG, torch.tensor([1, 0, 1]), torch.tensor([[2], [-1]]))),
    ("narrow_select_t", lambda m, x: (x.narrow(2, 1, 2), x.select(1, -1), x[0].t(), x.mT),
     (X,)),
    ("folded_factories", lambda m, x: x[0] + torch.ones(3, 4).triu(1) * torch.arange(4)
     + torch.zeros_like(x[0]) + torch.full((3, 4), 0.5).tril(), (X,)),
    # reductions
    ("reductions", lambda m, x: (x.sum(1, keepdim=True), x.mean(), torch.amax(x, (0, 2)),
                                 x.max(dim=1)[1], x.min(-1).values, x.argmax(-1), x.min(),
                                 x.var(1, unbiased=False), x.std(-1), torch.logsumexp(x, 2),
                                 x.cumsum(1),
                                 torch.mean(x, dim=[1, 2]), x.prod(2), x.argmin()), (X,)),
    ("topk_sort_norm", lambda m, x: (x.topk(2)[0], torch.topk(x, 2, dim=1, largest=False)[1],
                                     x.sort(-1)[0], torch.sort(x, 1, descending=True)[1],
                                     x.norm(dim=-1), torch.norm(x), x.norm(p=1, dim=1)), (X,)),
    ("flip_roll", lambda m, x: (x.flip(1), torch.flip(x, [0, 2]), torch.roll(x, 1, 2),
                                x.roll((1, -1), (0, 1)), torch.roll(x, 5)), (X,)),
    ("bool_int_reductions", lambda m, x, i: ((x > 0).any(1), (x > -3).all(), i.sum(), i.sum(0),
                                            (x > 0).sum(-1)), (X, I64)),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0]) for c in CASES])
def test_conversion_family(case):
    fn, inputs = case[1], case[2]
    children = case[3]() if len(case) > 3 else {}
    check(fn_module(fn, **children), *inputs)


# ---- layers ------------------------------------------------------------------------------------
def randomized(module):
    """Seeded weights, and non-trivial norm statistics / affine parameters."""
    torch.manual_seed(0)
    for m in module.modules():
        for name, p in list(m.named_parameters(recurse=False)):
            with torch.no_grad():
                p.copy_(torch.randn(p.shape) * 0.5 + (1.0 if "weight" in name and
                                                         "norm" in type(m).__name__.lower()
                                                         else 0.0))
        if isinstance(m, nn.modules.batchnorm._NormBase) and m.running_mean is not None:
            m.running_mean.copy_(torch.randn(m.num_features) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features) + 0.5)
    return module.eval()


LAYERS = [
    ("conv_groups_stride", lambda: nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2), (IMG,)),
    ("conv_same_dilated", lambda: nn.Conv2d(4, 4, 3, padding="same", dilation=2), (IMG,)),
    ("conv_same_even_kernel", lambda: nn.Conv2d(4, 2, 4, padding="same", bias=False), (IMG,)),
    ("conv_reflect", lambda: nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"), (IMG,)),
    ("conv_circular", lambda: nn.Conv2d(4, 4, 3, padding=1, padding_mode="circular"), (IMG,)),
    ("conv1d", lambda: nn.Conv1d(3, 5, 3, stride=2), (randn(2, 3, 9),)),
    ("conv_transpose", lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1,
                                                  output_padding=1), (IMG,)),
    ("conv_unbatched", lambda: nn.Conv2d(4, 3, 3), (IMG[0],)),
    ("maxpool_ceil", lambda: nn.MaxPool2d(3, 2, ceil_mode=True), (randn(1, 2, 9, 9),)),
    ("maxpool_dilated", lambda: nn.MaxPool2d(2, 1, dilation=2, padding=1), (IMG,)),
    ("avgpool_exclude_pad", lambda: nn.AvgPool2d(3, 2, padding=1, count_include_pad=False),
     (IMG,)),
    ("avgpool_include_pad", lambda: nn.AvgPool2d(3, 2, padding=1), (IMG,)),
    ("avgpool_divisor", lambda: nn.AvgPool2d(2, divisor_override=3), (IMG,)),
    ("adaptive_avg_2x2", lambda: nn.AdaptiveAvgPool2d((2, None)), (IMG,)),
    ("adaptive_max_1", lambda: nn.AdaptiveMaxPool2d(1), (IMG,)),
    ("batchnorm1d_2d_input", lambda: nn.BatchNorm1d(3), (randn(4, 3),)),
    ("batchnorm1d_3d_input", lambda: nn.BatchNorm1d(3), (X,)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(4), (IMG,)),
    ("batchnorm_no_affine", lambda: nn.BatchNorm2d(4, affine=False), (IMG,)),
    ("batchnorm_batch_stats", lambda: nn.BatchNorm2d(4, track_running_stats=False), (IMG,)),
    ("layernorm_2d_shape", lambda: nn.LayerNorm([3, 4]), (X,)),
    ("layernorm_no_affine", lambda: nn.LayerNorm(4, elementwise_affine=False), (X,)),
    ("groupnorm", lambda: nn.GroupNorm(2, 4), (IMG,)),
    ("instancenorm", lambda: nn.InstanceNorm2d(4, affine=True), (IMG,)),
    ("instancenorm_running_stats", lambda: nn.InstanceNorm1d(3, track_running_stats=True), (X,)),
    ("linear_3d", lambda: nn.Linear(4, 5), (X,)),
    ("linear_no_bias", lambda: nn.Linear(4, 5, bias=False), (X[0],)),
    ("embedding_int64", lambda: nn.Embedding(10, 4, padding_idx=0),
     (torch.tensor([[1, 0, 9], [3, 3, 2]]),)),
    ("sequential", lambda: nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4), nn.ReLU(),
                                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(),
                                         nn.Linear(4, 2)), (IMG,)),
]


@pytest.mark.parametrize("make,inputs", [pytest.param(c[1], c[2], id=c[0]) for c in LAYERS])
def test_layer(make, inputs):
    check(randomized(make()), *inputs, rtol=1e-4, atol=1e-5)


FUNCTIONAL = [
    ("conv2d", lambda m, x, w: F.conv2d(x, w, None, 1, "same", 1, 2), (IMG, randn(6, 2, 3, 3))),
    ("linear", lambda m, x, w: F.linear(x, w), (X, randn(5, 4))),
    ("pools", lambda m, x: (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 1, 1),
                            F.adaptive_avg_pool2d(x, (4, 2)), F.max_pool1d(x[0], 2)), (IMG,)),
    ("pad_modes", lambda m, x: (F.pad(x, (1, 2)), F.pad(x, (1, 1, 2, 0), value=-3.0),
                                F.pad(x, (2, 1, 1, 2), mode="reflect"),
                                F.pad(x, (1, 1, 1, 1), mode="replicate"),
                                F.pad(x, (1, 2, 2, 1), mode="circular"), F.pad(x, (-1, 1))),
     (IMG,)),
    ("norm_functionals", lambda m, x, w: (F.layer_norm(x, (8,), w), F.normalize(x, dim=1),
                                          F.group_norm(x, 4), F.dropout(x, 0.3, training=False)),
     (IMG, randn(8))),
    ("matmuls", lambda m, x, y, z: (x @ y.transpose(-1, -2), torch.bmm(x, y.mT), torch.mm(x[0], z),
                                    torch.matmul(x[0, 0], z), torch.addmm(z[0], x[0], z),
                                    torch.baddbmm(x @ y.mT, x, y.mT, beta=0.5, alpha=2.0)),
     (X, Y, randn(4, 4))),
    ("sdpa", lambda m, q, k, v: (F.scaled_dot_product_attention(q, k, v),
                                 F.scaled_dot_product_attention(q, k, v, is_causal=True),
                                 F.scaled_dot_product_attention(q, k, v, scale=0.3)),
     (randn(2, 2, 5, 8), randn(2, 2, 5, 8, seed=1), randn(2, 2, 5, 8, seed=2))),
    ("sdpa_masks", lambda m, q, bool_mask, float_mask: (
        F.scaled_dot_product_attention(q, q, q, attn_mask=bool_mask),
        F.scaled_dot_product_attention(q, q, q, attn_mask=float_mask)),
     (randn(2, 2, 5, 8), (torch.rand(5, 5, generator=torch.Generator().manual_seed(4)) > 0.3)
      | torch.eye(5, dtype=torch.bool), randn(5, 5, seed=3))),
    ("interpolate", lambda m, x: (F.interpolate(x, scale_factor=2), F.interpolate(x, size=(5, 11)),
                                  F.interpolate(x, scale_factor=1.5, mode="bilinear"),
                                  F.interpolate(x, size=(12, 4), mode="bilinear",
                                                align_corners=True),
                                  F.interpolate(x, scale_factor=2, mode="bicubic")), (IMG,)),
    ("pixel_shuffle", lambda m, x: (F.pixel_shuffle(x, 2), F.pixel_unshuffle(x, 2)), (IMG,)),
    ("aten_batch_stats_norm", lambda m, x, w: torch.ops.aten._native_batch_norm_legit.no_stats(
        x, w, w + 1, True, 0.1, 1e-5)[0], (IMG, randn(4))),
    ("embedding_fn", lambda m, idx, w: F.embedding(idx, w), (torch.tensor([[0, 2], [1, 1]]),
                                                             randn(3, 4))),
]


@pytest.mark.parametrize("fn,inputs", [pytest.param(c[1], c[2], id=c[0]) for c in FUNCTIONAL])
def test_functional(fn, inputs):
    check(fn_module(fn), *inputs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_module(batch_first):
    """nn.MultiheadAttention: a leaf module on the fx path, traced through by torch.export;
    self-attention with a key padding mask, and cross-attention with an attention mask."""
    mha = randomized(nn.MultiheadAttention(8, 2, batch_first=batch_first))

    def fn(m, x, mem, pad):
        a, w = m.mha(x, x, x, key_padding_mask=pad)
        b, _ = m.mha(x, mem, mem, attn_mask=m.causal, need_weights=False)
        return a, w, b
    x, mem = randn(2, 5, 8), randn(2, 5, 8, seed=1)
    if not batch_first:
        x, mem = x.transpose(0, 1), mem.transpose(0, 1)
    pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    module = fn_module(fn, mha=mha)
    module.register_buffer("causal", torch.triu(torch.ones(5, 5, dtype=torch.bool), 1))
    check(module, x, mem, pad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm_first,activation", [(False, "relu"), (True, "gelu")])
def test_transformer_encoder_modules(norm_first, activation):
    """nn.TransformerEncoder(Layer): leaf modules on the fx path, traced through by export."""
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, norm_first=norm_first,
                                       activation=activation)
    stack = randomized(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(16),
                                             enable_nested_tensor=False))

    def fn(m, x, pad):
        return m.stack(x, src_key_padding_mask=pad), m.stack.layers[0](x, src_mask=m.causal)
    module = fn_module(fn, stack=stack)
    module.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(6))
    pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    check(module, randn(2, 6, 16), pad, rtol=1e-4, atol=1e-5)


def test_upsample_and_pixel_shuffle_modules():
    m = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.PixelUnshuffle(2),
                      nn.UpsamplingBilinear2d(size=(10, 10)), nn.PixelShuffle(2))
    check(m, IMG, rtol=1e-4, atol=1e-5)


# ---- in-place updates and constants ---------------------------------------------------------
def test_inplace_method_is_seen_by_later_readers():
    def fn(m, x):
        y = x * 2
        y.add_(1)
        z = y + x
        y.relu_()
        return z, y, F.relu(z, inplace=True) * 2
    check(fn_module(fn), X, paths=("fx",))


def test_tensor_attributes_and_tied_weights_are_shared_constants():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(6, 4)
            self.head = nn.Linear(4, 6, bias=False)
            self.head.weight = self.emb.weight                      # tied
            self.register_buffer("scale", torch.tensor([1.0, 2.0, 3.0, 4.0]))
            self.offset = torch.full((4,), 0.25)                    # a plain tensor attribute

        def forward(self, idx):
            return self.head(self.emb(idx) * self.scale + self.offset)

    m = M().eval()
    idx = torch.tensor([[0, 5, 2]])
    graphs = check(m, idx)
    for path, g in graphs.items():
        consts = {c.name: c for c in g.constants}
        weights = [c for c in g.constants if c.data.shape == (6, 4)]
        assert len(weights) == 1, (path, list(consts))        # one constant for the tied weight
        assert np.shares_memory(weights[0].data, m.emb.weight.detach().numpy()), path
        assert np.shares_memory(consts["scale"].data, m.scale.numpy()), path
        assert not weights[0].data.flags.writeable


def test_parameter_constants_are_named_by_qualified_name():
    m = randomized(nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4)))
    for path in PATHS:
        g = convert(m, (IMG,), path)
        names = {c.name for c in g.constants}
        assert {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                "1.running_var"} <= names, path
        assert "1.num_batches_tracked" not in names      # unused buffers are dropped
    conv = next(n for n in convert(m, (IMG,), "fx").nodes if n.op == "Conv")
    assert conv.name == "0"                              # loc: the module's qualified name


def test_unlifted_exported_module_imports_on_the_fx_path():
    m = randomized(nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4), nn.ReLU()))
    gm = torch.export.export(m, (IMG,)).module()      # aten ops in a GraphModule
    g = import_fx(gm, (IMG,))
    verify(g)
    got = run_graph(g, {g.inputs[0].name: IMG.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got[g.output_names[0]], m(IMG).numpy(), rtol=1e-5, atol=1e-5)


def test_inputs_are_named_by_forward_parameters():
    class M(nn.Module):
        def forward(self, input, mask):          # fx renames `input` to input_1 internally
            return input.masked_fill(mask, 0.0)
    for path in ("fx", "export"):
        g = convert(M(), (X, X > 0), path)
        assert [v.name for v in g.inputs] == ["input", "mask"], path


# ---- shapes and dtypes -------------------------------------------------------------------------
def test_shapes_come_from_the_example_inputs():
    def fn(m, x):
        return x.view(x.size(0), -1).sum(1)
    module = fn_module(fn)
    for shape in [(2, 3, 4), (5, 1, 7)]:
        g = import_fx(module, (torch.zeros(shape),))
        assert g.inputs[0].type.shape == shape
        assert g.outputs[0].type.shape == (shape[0],)
        reshape = next(n for n in g.nodes if n.op == "Reshape")
        assert reshape.inputs[1].data.tolist() == [shape[0], shape[1] * shape[2]]


def test_dynamic_export_is_specialized_to_the_example_inputs():
    module = fn_module(lambda m, x: x.flatten(1) * 2)
    batch = torch.export.Dim("batch", min=2)
    ep = torch.export.export(module, (IMG,), dynamic_shapes=({0: batch},))
    g = import_fx(ep, (randn(3, 4, 8, 8),))
    assert str(g.inputs[0].type) == "f32[3,4,8,8]"
    assert str(import_fx(ep).inputs[0].type) == "f32[2,4,8,8]"   # the stored example inputs
    static = torch.export.export(module, (IMG,))
    with pytest.raises(FxImportError, match=r"exported for the static shape \[2, 4, 8, 8\]"):
        import_fx(static, (randn(3, 4, 8, 8),))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_float_dtypes_follow_the_model(dtype):
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).to(dtype).eval()
    g = check(m, X.to(dtype), paths=("fx", "export"), rtol=1e-2 if dtype == torch.float16
              else 1e-7)["fx"]
    expect = "f64" if dtype == torch.float64 else "f16"
    assert {str(v.type.dtype) for v in g.values()} == {expect}


def test_index_and_mask_dtypes():
    def fn(m, x, idx, keep):
        picked = x[:, idx]                                     # i64 index -> Gather
        return picked.masked_fill(~keep, 0.0), torch.where(keep, picked, -picked), idx * 2
    g = check(fn_module(fn), X, torch.tensor([2, 0]),
              torch.tensor([[True, False, True, True], [False, True, False, True]]))["fx"]
    assert [str(v.type) for v in g.inputs] == ["f32[2,3,4]", "i64[2]", "bool[2,4]"]
    assert str(g.outputs[2].type) == "i64[2]"


def test_unrepresentable_input_dtype_is_an_error():
    with pytest.raises(UnsupportedError, match="input 'x'.*bfloat16"):
        import_fx(fn_module(lambda m, x: x * 2), (X.to(torch.bfloat16),))


def test_export_constants_share_memory_with_the_module():
    m = randomized(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)))
    g = import_fx(torch.export.export(m, (X,)))
    consts = {c.name: c.data for c in g.constants}
    for name, p in m.named_parameters():
        assert np.shares_memory(consts[name], p.detach().numpy()), name


# ---- errors ------------------------------------------------------------------------------------
def two_unsupported(m, x):
    a = torch.cumprod(x, 0)
    b = torch.cumprod(a.relu(), 1)           # supported relu between two unsupported ops
    return torch.erfinv(b.tanh()) + x.cumprod(1)


def test_unsupported_targets_are_listed_in_one_error():
    with pytest.raises(UnsupportedError) as info:
        import_fx(fn_module(two_unsupported), (X,))
    msg = str(info.value)
    assert msg.startswith("the model uses 3 unsupported torch operation(s) (4 node(s)):")
    assert "torch.cumprod  x2  (first: cumprod, cumprod_1)" in msg
    assert "torch.erfinv  x1  (first: erfinv)" in msg
    assert "Tensor.cumprod  x1  (first: cumprod_2)" in msg
    assert "relu" not in msg and "tanh" not in msg and "add" not in msg


def test_unsupported_aten_ops_are_listed_in_one_error():
    ep = torch.export.export(fn_module(two_unsupported), (X,))
    with pytest.raises(UnsupportedError, match=r"aten\.cumprod\.default  x3 .*\n.*aten\.") as info:
        import_fx(ep)
    assert "aten.erfinv.default  x1" in str(info.value)


@pytest.mark.parametrize("path", PATHS)
def test_training_mode_is_refused_and_leaves_the_model_unchanged(path):
    m = randomized(nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4), nn.Dropout(0.5)))
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    with pytest.raises(UnsupportedError, match=r"eval\(\)"):
        convert(m, (IMG,), path)
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_random_functions_are_refused():
    with pytest.raises(UnsupportedError, match=r"dropout: training=True"):
        import_fx(fn_module(lambda m, x: F.dropout(x, 0.1)), (X,))
    with pytest.raises(UnsupportedError, match=r"torch\.rand_like"):
        import_fx(fn_module(lambda m, x: x + torch.rand_like(x)), (X,))


def test_unsupported_arguments_are_named():
    with pytest.raises(UnsupportedError, match=r"adaptive_avg_pool2d: adaptive pooling of \[8, "):
        import_fx(fn_module(lambda m, x: F.adaptive_avg_pool2d(x, 3)), (IMG,))
    with pytest.raises(UnsupportedError, match=r"boolean mask indexing"):
        import_fx(fn_module(lambda m, x, mask: x[mask]), (X, X > 0))


def test_out_arguments_are_refused():
    def fn(m, x, y):
        torch.add(x, 1, out=y)
        return y
    with pytest.raises(UnsupportedError, match=r"torch.add: an out= argument"):
        import_fx(fn_module(fn), (X, Y))


def test_missing_example_inputs_and_bad_models():
    with pytest.raises(FxImportError, match=r"needs example inputs.*'x'"):
        import_fx(fn_module(lambda m, x: x + 1))
    with pytest.raises(AiccError, match=r"expects a torch.nn.Module"):
        import_fx("model.pt", (X,))

    class Branchy(nn.Module):
        def forward(self, x):
            return x + 1 if x.shape[0] > 1 else x - 1
    with pytest.raises(FxImportError, match=r"could not trace Branchy.*torch.export"):
        import_fx(Branchy(), (X,))
    g = import_fx(torch.export.export(Branchy(), (X,)))    # export specializes the branch
    assert g.op_counts() == {"Add": 1}


def test_a_conversion_that_disagrees_with_torch_is_reported(monkeypatch):
    monkeypatch.setitem(lowering_torch.FUNCTIONS, operator.add,
                        lambda cx, a, b: cx.op("ReduceSum", a, keepdims=1))
    with pytest.raises(FxImportError, match=r"'add' \(operator.add\) gave f32\[1,1,1\], but torch "
                                            r"computed f32\[2,3,4\]; this is a bug"):
        import_fx(fn_module(lambda m, x: x + 1), (X,))


def test_without_torch_the_frontend_says_how_to_install_it():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from compiler.errors import AiccError\n"
            "try:\n    import frontends.fx\nexcept AiccError as e:\n    print('AiccError:', e)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert "AiccError:" in out.stdout, out.stderr
    assert "pip install torch==2.13.0" in out.stdout


# ---- the tables ------------------------------------------------------------------------------
def _schema_call(schema):
    """Placeholder arguments for the required parameters of an aten schema."""
    args = [a for a in schema.arguments if not a.has_default_value()]
    return ([0 for a in args if not a.kwarg_only], {a.name: 0 for a in args if a.kwarg_only})


def test_every_aten_entry_accepts_its_schema():
    bad = []
    for key, builder in lowering_aten.ATEN.items():
        overloads = [key] if isinstance(key, torch._ops.OpOverload) else \
            [getattr(key, name) for name in key.overloads()]
        sig = inspect.signature(builder)
        ok = False
        for ov in overloads:
            pos, kw = _schema_call(ov._schema)
            try:
                sig.bind(None, *pos, **kw)
                ok = True
            except TypeError:
                pass
        if not ok:
            bad.append(str(key))
    assert not bad, f"builders that accept none of their overloads' arguments: {bad}"


def test_tables_are_data():
    assert lowering_torch.FUNCTIONS[F.relu] is lowering_torch.FUNCTIONS[torch.relu]
    assert "view" in lowering_torch.METHODS and "reshape" in lowering_torch.METHODS
    assert lowering_aten.lookup(torch.ops.aten.add.Tensor)[0] is \
        lowering_aten.lookup(torch.ops.aten.add.Scalar)[0]
    assert lowering_aten.lookup(torch.ops.aten.add_.Tensor)[1] == 0      # in place
    assert all(callable(f) for f in lowering_torch.FUNCTIONS.values())
