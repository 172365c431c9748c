"""Normalisation kernels (passes/lower/kernels/normalize.py): Softmax, LogSoftmax,
LayerNormalization, InstanceNormalization, LpNormalization, compiled and compared with the
reference interpreter (with and without bounds checks, 8- and 16-lane vectors)."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

from .test_reduce import check


def _f(dtype):
    return TensorType(dtype, (1,)).dtype.np_dtype


def _axis_graph(op, dtype, cases, **attrs):
    """op over each (shape, axis) case, one input per case."""
    g = Graph(op.lower())
    outs = []
    for k, (shape, axis) in enumerate(cases):
        outs.append(g.op(op, g.add_input(f"x{k}", TensorType(dtype, shape)), axis=axis,
                         **attrs))
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def _feeds(g, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    return {v.name: (rng.standard_normal(v.shape) * scale).astype(v.dtype.np_dtype)
            for v in g.inputs}


# last axis (vectors along the row, tail), middle and first axis (vectors across rows)
AXIS_CASES = [((3, 4, 37), 2), ((3, 4, 37), 1), ((40, 5), 0), ((2, 64), -1), ((3, 1), 1)]


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax", "LpNormalization"])
@pytest.mark.parametrize("bits", [256, 512])
def test_axis_normalisations(op, bits):
    g = _axis_graph(op, "f32", AXIS_CASES if bits == 512 else AXIS_CASES[:3])
    check(g, _feeds(g), bits=bits, both_checks=bits == 512)


def test_f16_and_f64_compute_in_f32_and_f64():
    g = Graph("dtypes")
    outs = []
    for k, (dtype, shape, axis) in enumerate([("f16", (3, 37), 1), ("f64", (21, 3), 0)]):
        x = g.add_input(f"x{k}", TensorType(dtype, shape))
        outs += [g.op(op, x, axis=axis) for op in ("Softmax", "LogSoftmax", "LpNormalization")]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    check(g, _feeds(g), both_checks=False)


def test_special_values_follow_the_reference():
    """inf / -inf rows (max not finite: shifted by 0), NaN, all-zero rows for LpNorm."""
    x = np.array([[1, np.inf, 2, 3] * 5, [-np.inf] * 20, [np.nan] + [1] * 19, [0] * 20],
                 np.float32)
    g = Graph("special")
    a = g.add_input("a", TensorType("f32", x.shape))
    b = g.add_input("b", TensorType("f32", x.T.shape))
    outs = [g.op(op, v, axis=ax) for v, ax in ((a, 1), (b, 0))
            for op in ("Softmax", "LogSoftmax")]
    outs += [g.op("LpNormalization", a, axis=1, p=p) for p in (1, 2)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    check(g, {"a": x, "b": np.ascontiguousarray(x.T)}, bits=512, both_checks=False)


def test_softmax_of_a_long_row_recomputes_exp():
    g = _axis_graph("Softmax", "f32", [((2, 9000), 1)])       # row > the local row buffer
    lm = check(g, _feeds(g), bits=512, both_checks=False)
    assert "alloc %e" not in str(lm)


def test_softmax_schedule_is_vectorised_with_a_row_buffer():
    g = _axis_graph("Softmax", "f32", [((64, 256), 1)])
    lm = check(g, _feeds(g), bits=512)
    text = str(lm)
    for piece in ("reduce_max(", "reduce_add(", "exp(", "ramp(", "alloc %e", " parallel"):
        assert piece in text, piece


def _layer_norm(shape, axis, dtype="f32", outputs=3, bias=True, param_shape=None):
    g = Graph("ln")
    rng = np.random.default_rng(7)
    x = g.add_input("x", TensorType(dtype, shape))
    ps = param_shape or shape[axis:]
    ins = [x, g.add_constant(rng.standard_normal(ps).astype(_f(dtype)))]
    if bias:
        ins.append(g.add_constant(rng.standard_normal(ps).astype(_f(dtype))))
    r = g.op("LayerNormalization", *ins, axis=axis, epsilon=1e-3, n_outputs=outputs)
    r = list(r) if outputs > 1 else [r]
    g.set_outputs(r, ["y", "mean", "inv_std"][:outputs])
    return g


@pytest.mark.parametrize("shape,axis,outputs,bias,param_shape", [
    ((128, 256), -1, 3, True, None),          # the transformer shape (parallel rows)
    ((2, 3, 5, 7), 2, 3, True, None),         # two normalised axes
    ((2, 3, 5, 7), 0, 2, False, None),        # everything, no bias
    ((2, 3, 20), 2, 1, True, (1, 20)),        # broadcast scale
    ((2, 3, 20), 1, 1, True, (20,)),
])
def test_layer_norm(shape, axis, outputs, bias, param_shape):
    g = _layer_norm(shape, axis, outputs=outputs, bias=bias, param_shape=param_shape)
    feeds = _feeds(g, seed=1)
    feeds["x"] += 2.0                         # a mean far from 0: the variance is two-pass
    check(g, feeds, bits=512, both_checks=shape == (128, 256))


@pytest.mark.parametrize("dtype", ["f16", "f64"])
def test_layer_norm_dtypes_keep_f32_statistics(dtype):
    g = _layer_norm((6, 40), -1, dtype)
    check(g, _feeds(g), both_checks=False)


@pytest.mark.parametrize("dtype", ["f32", "f16", "f64"])
def test_instance_norm(dtype):
    g = Graph("inorm")
    rng = np.random.default_rng(8)
    outs = []
    for k, shape in enumerate([(2, 3, 5, 7), (1, 4, 37), (2, 3, 2, 3, 4)]):
        x = g.add_input(f"x{k}", TensorType(dtype, shape))
        c = shape[1]
        outs.append(g.op("InstanceNormalization", x,
                         g.add_constant(rng.standard_normal(c).astype(_f(dtype))),
                         g.add_constant(rng.standard_normal(c).astype(_f(dtype))),
                         epsilon=1e-2))
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    check(g, _feeds(g), bits=512, both_checks=dtype == "f32")
