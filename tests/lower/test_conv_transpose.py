"""ConvTranspose lowering (passes/lower/kernels/conv_transpose.py) against the reference
interpreter: strides, dilations, pads, output_padding, output_shape, auto_pad, groups, bias,
1-D / 3-D, f16, runtime weights, a fused epilogue."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

from .util import check_against_reference

rng = np.random.default_rng(0)

# (X shape, W shape, attributes)
CASES = [
    ((1, 3, 5, 6), (3, 2, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(strides=[2, 2])),
    ((1, 4, 7, 9), (4, 5, 3, 4), dict(strides=[2, 3], pads=[1, 0, 2, 1], output_padding=[1, 2])),
    ((1, 4, 7, 40), (4, 6, 3, 3), dict(strides=[1, 2], dilations=[2, 2], group=2)),
    ((1, 6, 5, 33), (6, 1, 3, 5), dict(group=6, strides=[2, 1], pads=[1, 2, 1, 2])),
    ((1, 2, 5, 6), (2, 3, 3, 3), dict(strides=[3, 2], output_shape=[17, 13])),
    ((1, 2, 5, 6), (2, 3, 3, 3), dict(strides=[2, 2], output_shape=[8, 9])),    # negative pads
    ((1, 2, 5, 6), (2, 3, 3, 3), dict(strides=[2, 2], auto_pad="SAME_UPPER")),
    ((1, 2, 5, 6), (2, 3, 3, 3), dict(strides=[2, 2], auto_pad="SAME_LOWER")),
    ((1, 2, 5, 6), (2, 3, 3, 3), dict(strides=[2, 2], auto_pad="VALID")),
    ((2, 3, 50), (3, 5, 4), dict(strides=[2])),
    ((1, 2, 3, 4, 5), (2, 3, 2, 3, 3), dict(strides=[2, 1, 2], pads=[0, 1, 1, 1, 0, 1])),
    ((1, 3, 2, 2), (3, 2, 8, 8), dict(strides=[4, 4], pads=[2, 2, 2, 2])),      # stride > width
    ((1, 2, 3, 16), (2, 2, 3, 3), dict(strides=[1, 2])),          # residues of 17 and 16 outputs
    ((1, 2, 1, 2), (2, 3, 1, 1), dict(strides=[3, 3], output_padding=[1, 2])),  # tapless residues
    ((1, 1, 2, 1), (1, 1, 1, 1), dict(strides=[1, 4])),           # fewer outputs than the stride
]


def _graph(cases, dtype="f32", weights="const", bias=True):
    g = Graph("convt")
    npdt = TensorType(dtype, ()).dtype.np_dtype
    outs = []
    for k, (xs, ws, attrs) in enumerate(cases):
        x = g.add_input(f"x{k}", TensorType(dtype, xs))
        w = (g.add_constant(rng.standard_normal(ws).astype(npdt)) if weights == "const"
             else g.add_input(f"w{k}", TensorType(dtype, ws)))
        ins = [x, w]
        if bias:
            ins.append(g.add_constant(rng.standard_normal(ws[1] * attrs.get("group", 1))
                                      .astype(npdt)))
        outs.append(g.op("ConvTranspose", *ins, **attrs))
    g.set_outputs(outs, [f"y{k}" for k in range(len(outs))])
    return g


@pytest.mark.parametrize("half", [0, 1])
def test_geometries(half):
    """Every attribute combination of CASES (split in two compiles), bias on and off."""
    part = CASES[half::2]
    check_against_reference(_graph(part, bias=bool(half)), rtol=1e-4, atol=1e-4)


def test_without_bounds_checks_and_with_runtime_weights():
    cases = [CASES[2], CASES[4], CASES[10]]
    check_against_reference(_graph(cases, weights="runtime"), rtol=1e-4, atol=1e-4,
                            bounds_check=False)


def test_f16_computes_in_f32():
    check_against_reference(_graph([CASES[1], CASES[3]], dtype="f16"), rtol=1e-2, atol=1e-2)


def test_wide_channels_use_register_blocks_and_parallel_loops():
    """18 output channels: four full blocks of MB and a partial one."""
    g = _graph([((1, 32, 16, 40), (32, 18, 4, 4), dict(strides=[2, 2], pads=[1, 1, 1, 1]))])
    lm = check_against_reference(g, rtol=1e-4, atol=1e-4)
    text = str(lm)
    assert "parallel" in text and "fma(" in text


def test_fused_bias_add_and_relu_epilogue():
    g = Graph("convt_relu")
    x = g.add_input("x", TensorType("f32", (1, 4, 6, 7)))
    w = g.add_constant(rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    y = g.op("ConvTranspose", x, w, strides=[2, 2], pads=[1, 1, 0, 0])
    b = g.add_constant(rng.standard_normal((1, 3, 1, 1)).astype(np.float32))
    g.set_outputs([g.op("Relu", g.op("Add", y, b))], ["r"])
    lm = check_against_reference(g, "fuse,memory-plan", rtol=1e-4, atol=1e-4)
    assert [f.name[:8] for f in lm.funcs if f.name != "main"] == ["k0_fused"]
