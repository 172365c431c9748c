"""ONNX ops whose meaning changed across opsets: each is imported at an old and a new opset and
run on the reference interpreter against onnxruntime (onnx's ReferenceEvaluator where
onnxruntime does not implement the opset)."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from backends.reference import run_graph
from compiler.errors import UnsupportedError
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from frontends.onnx import find_rule, import_onnx, supported_ops

ort = pytest.importorskip("onnxruntime")
RNG = np.random.default_rng(0)
FEEDS = {}      # id(model) -> the example inputs it was typed after
MAX_OPSET = onnx.defs.onnx_opset_version()


def make(nodes, feeds, outputs, inits=None, opset=13, out_types=None):
    """A model whose inputs are typed after `feeds` and whose outputs get onnx-inferred types
    (or `out_types`: {name: (elem_type, shape)})."""
    inputs = [h.make_tensor_value_info(k, h.np_dtype_to_tensor_dtype(v.dtype), v.shape)
              for k, v in feeds.items()]
    g = h.make_graph(nodes, "t", inputs, [h.make_empty_tensor_value_info(o) for o in outputs],
                     [nh.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    m = h.make_model_gen_version(g, opset_imports=[h.make_opsetid("", opset)])
    if m.ir_version < 4:    # initializers must also be graph inputs before IR version 4
        m.graph.input.extend(h.make_tensor_value_info(t.name, t.data_type, t.dims)
                             for t in m.graph.initializer)
    inferred = onnx.shape_inference.infer_shapes(m)
    types = {vi.name: vi.type
             for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for name, (elem, shape) in (out_types or {}).items():
        types[name] = h.make_tensor_type_proto(elem, shape)
    for o in m.graph.output:
        o.type.CopyFrom(types[o.name])
    FEEDS[id(m)] = dict(feeds)
    return m


def oracle(m, feeds, use="ort"):
    if use == "ort":
        so = ort.SessionOptions()
        so.log_severity_level = 3
        try:
            sess = ort.InferenceSession(m.SerializeToString(), so,
                                        providers=["CPUExecutionProvider"])
        except Exception as e:
            if "opset" not in str(e).lower() and "ir version" not in str(e).lower():
                raise
        else:
            return sess.run(None, feeds)
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(m).run(None, feeds)


def check(m, feeds, use="ort", atol=1e-5, **kw):
    g = import_onnx(m, **kw)
    text = print_graph(g)
    assert print_graph(parse_graph(text, weights=g.weights())) == text
    got = run_graph(g, feeds)
    want = oracle(m, feeds, use)
    assert list(got) == [o.name for o in m.graph.output]
    for (name, a), b in zip(got.items(), want):
        b = np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (name, a.dtype, a.shape, b.dtype, b.shape)
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5, err_msg=name)
    return g


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def node(op, ins, outs, **attrs):
    return h.make_node(op, ins, outs, name=f"{op.lower()}_node", **attrs)


I64 = lambda *v: np.array(v, dtype=np.int64)   # noqa: E731


# ---- the cases: (id, builder) with builder() -> (model, feeds[, oracle]) --------------------
def _reshape_1():
    x = f32(2, 3, 4)
    g = h.make_graph([node("Reshape", ["x"], ["y"], shape=[0, -1])], "t",
                     [h.make_tensor_value_info("x", T.FLOAT, x.shape)],
                     [h.make_tensor_value_info("y", T.FLOAT, [2, 12])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 4)], ir_version=3)
    g = import_onnx(m)   # onnxruntime does not run opset 4: numpy is the oracle
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], x.reshape(2, 12))
    return None


CASES = {
    "reshape@1": _reshape_1,
    "reshape@5": lambda: (make([node("Reshape", ["x", "s"], ["y"])], {"x": f32(2, 3, 4)}, ["y"],
                               {"s": I64(0, -1)}, opset=7), {}),
    "reshape@14-allowzero": lambda: (make([node("Reshape", ["x", "s"], ["y"], allowzero=1)],
                                          {"x": f32(2, 3, 4)}, ["y"], {"s": I64(4, 2, 3)}, 14), {}),
    "split@11-attr": lambda: (make([node("Split", ["x"], ["a", "b"], axis=1, split=[1, 3])],
                                   {"x": f32(2, 4)}, ["a", "b"], opset=11), {}),
    "split@11-equal": lambda: (make([node("Split", ["x"], ["a", "b", "c"], axis=-1)],
                                    {"x": f32(2, 6)}, ["a", "b", "c"], opset=11), {}),
    "split@13-input": lambda: (make([node("Split", ["x", "s"], ["a", "b"], axis=1)],
                                    {"x": f32(2, 4)}, ["a", "b"], {"s": I64(3, 1)}, 13), {}),
    "split@18-num_outputs": lambda: (make([node("Split", ["x"], ["a", "b", "c"], axis=1,
                                                num_outputs=3)],
                                          {"x": f32(2, 7)}, ["a", "b", "c"], opset=18), {}),
    "slice@9-attrs": lambda: (make([node("Slice", ["x"], ["y"], starts=[1, 0], ends=[3, 100],
                                         axes=[0, 2])], {"x": f32(4, 3, 5)}, ["y"], opset=9), {}),
    "slice@9-no-axes": lambda: (make([node("Slice", ["x"], ["y"], starts=[1, -2], ends=[3, 5])],
                                     {"x": f32(4, 5)}, ["y"], opset=9), {}),
    "slice@13": lambda: (make([node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
                              {"x": f32(6, 5)}, ["y"],
                              {"st": I64(5, 0), "en": I64(0, 5), "ax": I64(0, 1),
                               "sp": I64(-2, 2)}, 13), {}),
    "pad@2": lambda: (make([node("Pad", ["x"], ["y"], pads=[0, 1, 1, 0], value=1.5)],
                           {"x": f32(2, 3)}, ["y"], opset=10), {}),
    "pad@2-reflect": lambda: (make([node("Pad", ["x"], ["y"], pads=[0, 2, 0, 1], mode="reflect")],
                                   {"x": f32(2, 4)}, ["y"], opset=9), {}),
    "pad@11": lambda: (make([node("Pad", ["x", "p", "v"], ["y"])], {"x": f32(2, 3)}, ["y"],
                            {"p": I64(1, 0, 0, 2), "v": np.array(-1.0, np.float32)}, 11), {}),
    "pad@18-axes": lambda: (make([node("Pad", ["x", "p", "", "a"], ["y"], mode="edge")],
                                 {"x": f32(2, 3)}, ["y"], {"p": I64(1, 2), "a": I64(-1)}, 18), {}),
    "clip@6": lambda: (make([node("Clip", ["x"], ["y"], min=-0.5, max=0.25)], {"x": f32(3, 4)},
                            ["y"], opset=6), {}, "ref"),
    "clip@6-min-only": lambda: (make([node("Clip", ["x"], ["y"], min=0.0)], {"x": f32(3, 4)},
                                     ["y"], opset=9), {}),
    "clip@11": lambda: (make([node("Clip", ["x", "", "hi"], ["y"])], {"x": f32(3, 4)}, ["y"],
                             {"hi": np.array(0.1, np.float32)}, 11), {}),
    "clip@13-int": lambda: (make([node("Clip", ["x", "lo", "hi"], ["y"])],
                                 {"x": np.arange(-5, 5, dtype=np.int32)}, ["y"],
                                 {"lo": np.array(-2, np.int32), "hi": np.array(3, np.int32)}), {}),
    "squeeze@11": lambda: (make([node("Squeeze", ["x"], ["y"], axes=[-1, 1])],
                                {"x": f32(3, 1, 2, 1)}, ["y"], opset=11), {}),
    "squeeze@11-all": lambda: (make([node("Squeeze", ["x"], ["y"])], {"x": f32(1, 3, 1)}, ["y"],
                                    opset=11), {}),
    "squeeze@13": lambda: (make([node("Squeeze", ["x", "a"], ["y"])], {"x": f32(3, 1, 2, 1)},
                                ["y"], {"a": I64(1)}, 13), {}),
    "unsqueeze@11": lambda: (make([node("Unsqueeze", ["x"], ["y"], axes=[0, -1])],
                                  {"x": f32(3, 2)}, ["y"], opset=11), {}),
    "unsqueeze@13": lambda: (make([node("Unsqueeze", ["x", "a"], ["y"])], {"x": f32(3, 2)},
                                  ["y"], {"a": I64(1, 3)}, 13), {}),
    "reducesum@11": lambda: (make([node("ReduceSum", ["x"], ["y"], axes=[0, 2], keepdims=0)],
                                  {"x": f32(2, 3, 4)}, ["y"], opset=11), {}),
    "reducesum@11-all": lambda: (make([node("ReduceSum", ["x"], ["y"])], {"x": f32(2, 3)},
                                      ["y"], opset=11), {}),
    "reducesum@13": lambda: (make([node("ReduceSum", ["x", "a"], ["y"], keepdims=1)],
                                  {"x": f32(2, 3, 4)}, ["y"], {"a": I64(-1)}, 13), {}),
    "reducesum@13-noop": lambda: (make([node("ReduceSum", ["x", "a"], ["y"],
                                             noop_with_empty_axes=1)], {"x": f32(2, 3)}, ["y"],
                                       {"a": np.zeros(0, np.int64)}, 13), {}),
    "reducemean@13": lambda: (make([node("ReduceMean", ["x"], ["y"], axes=[1])],
                                   {"x": f32(2, 3, 4)}, ["y"], opset=13), {}),
    "reducemean@18": lambda: (make([node("ReduceMean", ["x", "a"], ["y"], keepdims=0)],
                                   {"x": f32(2, 3, 4)}, ["y"], {"a": I64(0, 1)}, 18), {}),
    "reducemax@12-int8": lambda: (make([node("ReduceMax", ["x"], ["y"], axes=[1], keepdims=0)],
                                       {"x": RNG.integers(-9, 9, (3, 4)).astype(np.int8)}, ["y"],
                                       opset=12), {}),
    "reducelogsumexp@11": lambda: (make([node("ReduceLogSumExp", ["x"], ["y"], axes=[1])],
                                        {"x": f32(2, 5)}, ["y"], opset=11), {}),
    # coerced-2D softmax: axis=1 of a 3-D input normalizes over dims 1 AND 2 (not at opset 13)
    "softmax@11-coerced": lambda: (make([node("Softmax", ["x"], ["y"], axis=1)],
                                        {"x": f32(2, 3, 4)}, ["y"], opset=11), {}),
    "softmax@11-default-axis": lambda: (make([node("Softmax", ["x"], ["y"])],
                                             {"x": f32(2, 3, 4, 2)}, ["y"], opset=9), {}),
    "softmax@11-last-axis": lambda: (make([node("Softmax", ["x"], ["y"], axis=-1)],
                                          {"x": f32(2, 3, 4)}, ["y"], opset=11), {}),
    "softmax@13": lambda: (make([node("Softmax", ["x"], ["y"], axis=1)], {"x": f32(2, 3, 4)},
                                ["y"], opset=13), {}),
    "logsoftmax@7-coerced": lambda: (make([node("LogSoftmax", ["x"], ["y"], axis=0)],
                                          {"x": f32(2, 3, 4)}, ["y"], opset=7), {}),
    "logsoftmax@13": lambda: (make([node("LogSoftmax", ["x"], ["y"], axis=0)],
                                   {"x": f32(2, 3, 4)}, ["y"], opset=13), {}),
    "hardmax@11-coerced": lambda: (make([node("Hardmax", ["x"], ["y"], axis=1)],
                                        {"x": f32(2, 3, 4)}, ["y"], opset=11), {}),
    "hardmax@13": lambda: (make([node("Hardmax", ["x"], ["y"], axis=1)], {"x": f32(2, 3, 4)},
                                ["y"], opset=13), {}),
    "upsample@7": lambda: (make([node("Upsample", ["x"], ["y"], scales=[1.0, 1.0, 2.0, 3.0])],
                                {"x": f32(1, 2, 2, 3)}, ["y"], opset=7), {}),
    "upsample@9-nearest": lambda: (make([node("Upsample", ["x", "s"], ["y"])],
                                        {"x": f32(1, 2, 3, 3)}, ["y"],
                                        {"s": np.array([1, 1, 1.5, 2.5], np.float32)}, 9), {}),
    "upsample@9-linear": lambda: (make([node("Upsample", ["x", "s"], ["y"], mode="linear")],
                                       {"x": f32(1, 2, 3, 3)}, ["y"],
                                       {"s": np.array([1, 1, 2, 1.5], np.float32)}, 9), {}),
    "resize@10-nearest-mixed": lambda: (make([node("Resize", ["x", "s"], ["y"])],
                                             {"x": f32(1, 2, 5, 6)}, ["y"],
                                             {"s": np.array([1, 1, 2, 0.4], np.float32)}, 10), {}),
    "resize@10-linear-down": lambda: (make([node("Resize", ["x", "s"], ["y"], mode="linear")],
                                           {"x": f32(1, 2, 5, 6)}, ["y"],
                                           {"s": np.array([1, 1, 0.6, 0.5], np.float32)}, 10), {}),
    "resize@11-align-corners": lambda: (make([node("Resize", ["x", "roi", "s"], ["y"],
                                                   mode="linear",
                                                   coordinate_transformation_mode="align_corners")],
                                             {"x": f32(1, 1, 3, 4)}, ["y"],
                                             {"roi": np.zeros(0, np.float32),
                                              "s": np.array([1, 1, 2, 1.5], np.float32)}, 11), {}),
    "resize@11-sizes-cubic": lambda: (make([node("Resize", ["x", "roi", "s", "sz"], ["y"],
                                                 mode="cubic")], {"x": f32(1, 1, 4, 4)}, ["y"],
                                           {"roi": np.zeros(0, np.float32),
                                            "s": np.zeros(0, np.float32),
                                            "sz": I64(1, 1, 6, 3)}, 11), {}),
    "resize@13-half-pixel": lambda: (make([node("Resize", ["x", "", "s"], ["y"], mode="linear")],
                                          {"x": f32(1, 2, 4, 4)}, ["y"],
                                          {"s": np.array([1, 1, 0.5, 1.5], np.float32)}, 13), {}),
    "resize@19-axes-nearest": lambda: (make([node("Resize", ["x", "", "s"], ["y"], axes=[3, 2],
                                                  nearest_mode="floor",
                                                  coordinate_transformation_mode="asymmetric")],
                                            {"x": f32(1, 2, 3, 4)}, ["y"],
                                            {"s": np.array([2, 3], np.float32)}, 19), {}),
    # the mask of Dropout-7..11 is all-true (kept), as at 12+ where output = data * mask;
    # onnxruntime fills it with zeros at those opsets, so only the output is compared
    "dropout@7-mask": lambda: (make([node("Dropout", ["x"], ["y", "m"], ratio=0.3)],
                                    {"x": f32(3, 4)}, ["y", "m"], opset=7,
                                    out_types={"m": (T.FLOAT, [3, 4])}), {}, "mask-true"),
    "dropout@10-mask": lambda: (make([node("Dropout", ["x"], ["y", "m"])], {"x": f32(3, 4)},
                                     ["y", "m"], opset=10), {}, "mask-true"),
    "dropout@12-training-false": lambda: (make([node("Dropout", ["x", "r", "t"], ["y", "m"])],
                                               {"x": f32(3, 4)}, ["y", "m"],
                                               {"r": np.array(0.5, np.float32),
                                                "t": np.array(False)}, 12), {}),
    "dropout@13-plain": lambda: (make([node("Dropout", ["x"], ["y"]), node("Relu", ["y"], ["z"])],
                                      {"x": f32(3, 4)}, ["z"], opset=13), {}),
    "batchnorm@7": lambda: _bn(7),
    "batchnorm@9": lambda: _bn(9),
    "batchnorm@15": lambda: _bn(15),
    "topk@1": lambda: (make([node("TopK", ["x"], ["v", "i"], k=2, axis=0)], {"x": f32(4, 3)},
                            ["v", "i"], opset=9), {}),
    "topk@10": lambda: (make([node("TopK", ["x", "k"], ["v", "i"])], {"x": f32(3, 5)},
                             ["v", "i"], {"k": I64(3)}, 10), {}),
    "topk@11-smallest": lambda: (make([node("TopK", ["x", "k"], ["v", "i"], largest=0, axis=0)],
                                      {"x": f32(5, 3)}, ["v", "i"], {"k": I64(2)}, 11), {}),
    "argmax@11": lambda: (make([node("ArgMax", ["x"], ["y"], axis=1, keepdims=0)],
                               {"x": np.array([[1, 3, 3], [2, 2, 0]], np.float32)}, ["y"],
                               opset=11), {}),
    "argmax@12-last-index": lambda: (make([node("ArgMax", ["x"], ["y"], axis=1,
                                                select_last_index=1)],
                                          {"x": np.array([[1, 3, 3], [2, 2, 0]], np.float32)},
                                          ["y"], opset=12), {}),
    "cast@9": lambda: (make([node("Cast", ["x"], ["y"], to=T.INT32)], {"x": f32(3) * 10}, ["y"],
                            opset=9), {}),
    "cast@19-saturate": lambda: (make([node("Cast", ["x"], ["y"], to=T.FLOAT16, saturate=1)],
                                      {"x": f32(3)}, ["y"], opset=19), {}),
    "concat@4": lambda: (make([node("Concat", ["x", "x"], ["y"], axis=1)], {"x": f32(2, 3)},
                              ["y"], opset=7), {}),
    "concat@11-negative": lambda: (make([node("Concat", ["x", "x"], ["y"], axis=-2)],
                                        {"x": f32(2, 3)}, ["y"], opset=11), {}),
    "gemm@7-broadcast-c": lambda: (make([node("Gemm", ["a", "b", "c"], ["y"], alpha=0.5,
                                              transB=1)], {"a": f32(2, 3)}, ["y"],
                                        {"b": f32(4, 3), "c": f32(4)}, 7), {}),
    "gemm@11-no-c": lambda: (make([node("Gemm", ["a", "b"], ["y"], transA=1)], {"a": f32(3, 2)},
                                  ["y"], {"b": f32(3, 4)}, 11), {}),
    "maxpool@8-indices": lambda: (make([node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2],
                                             strides=[2, 2])], {"x": f32(1, 2, 4, 4)},
                                       ["y", "i"], opset=8), {}),
    "maxpool@10-ceil": lambda: (make([node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3],
                                           strides=[2, 2], ceil_mode=1)], {"x": f32(1, 1, 6, 6)},
                                     ["y"], opset=10), {}),
    "avgpool@7-include-pad": lambda: (make([node("AveragePool", ["x"], ["y"], kernel_shape=[3],
                                                 pads=[1, 1], count_include_pad=1)],
                                           {"x": f32(1, 2, 5)}, ["y"], opset=7), {}),
    "avgpool@7": lambda: (make([node("AveragePool", ["x"], ["y"], kernel_shape=[3], pads=[1, 1])],
                               {"x": f32(1, 2, 5)}, ["y"], opset=7), {}),
    "conv@1": lambda: (make([node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
                            {"x": f32(1, 2, 5, 5)}, ["y"], {"w": f32(3, 2, 3, 3), "b": f32(3)},
                            7), {}),
    # ops without a rule that ONNX defines by a function body are expanded into it
    "shrink@9-function": lambda: (make([node("Shrink", ["x"], ["y"], lambd=0.8, bias=0.3)],
                                       {"x": f32(3, 4)}, ["y"], opset=13), {}),
    "mvn@13-function": lambda: (make([node("MeanVarianceNormalization", ["x"], ["y"])],
                                     {"x": f32(2, 3, 4, 4)}, ["y"], opset=13,
                                     out_types={"y": (T.FLOAT, [2, 3, 4, 4])}), {}),
    "groupnorm@21-function": lambda: (make([node("GroupNormalization", ["x", "s", "b"], ["y"],
                                                 num_groups=2, epsilon=1e-3)],
                                           {"x": f32(2, 4, 3, 3)}, ["y"],
                                           {"s": f32(4), "b": f32(4)}, 21,
                                           out_types={"y": (T.FLOAT, [2, 4, 3, 3])}), {}, "ref"),
    "scatter@9": lambda: (make([node("Scatter", ["x", "i", "u"], ["y"], axis=1)],
                               {"x": f32(2, 3)}, ["y"],
                               {"i": np.array([[2], [0]], np.int64), "u": f32(2, 1)}, 9), {}),
}


def _bn(opset):
    x = f32(2, 3, 4, 4)
    p = {"s": f32(3), "b": f32(3), "m": f32(3), "v": np.abs(f32(3)) + 0.5}
    attrs = {"epsilon": 1e-3}
    if opset < 9:
        attrs["spatial"] = 1
    return make([node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], **attrs)],
                {"x": x}, ["y"], p, opset), {}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_at_opset(case):
    built = CASES[case]()
    if built is None:
        return
    m, kw, *use = built
    feeds = FEEDS[id(m)]
    use = use[0] if use else "ort"
    if use == "mask-true":
        out = run_graph(import_onnx(m), feeds)
        np.testing.assert_array_equal(out["y"], oracle(m, feeds)[0])
        want = np.float32 if m.opset_import[0].version < 10 else np.bool_
        assert out["m"].dtype == want and out["m"].shape == (3, 4) and np.all(out["m"])
        return
    check(m, feeds, use, **kw)


def test_softmax_coercion_differs_from_opset_13():
    x = f32(2, 3, 4)
    y11 = run_graph(import_onnx(make([node("Softmax", ["x"], ["y"], axis=1)], {"x": x}, ["y"],
                                     opset=11)), {"x": x})["y"]
    y13 = run_graph(import_onnx(make([node("Softmax", ["x"], ["y"], axis=1)], {"x": x}, ["y"],
                                     opset=13)), {"x": x})["y"]
    np.testing.assert_allclose(y11.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(y13.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(y11, y13)


def test_softmax_coercion_keeps_symbolic_dims():
    m = make([node("Softmax", ["x"], ["y"], axis=1)], {"x": f32(2, 3, 4)}, ["y"], opset=11)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    g = import_onnx(m, allow_dynamic=True)
    assert str(g.outputs[0].type) == "f32[batch,3,4]"
    x = f32(5, 3, 4)
    np.testing.assert_allclose(run_graph(g, {"x": x})["y"], oracle(m, {"x": x})[0], atol=1e-6)


def test_batchnorm_spatial_0_normalizes_per_element():
    x = f32(2, 3, 4)
    p = {"s": f32(3, 4), "b": f32(3, 4), "m": f32(3, 4), "v": np.abs(f32(3, 4)) + 0.5}
    m = make([node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], spatial=0)],
             {"x": x}, ["y"], p, opset=7)
    y = run_graph(import_onnx(m), {"x": x})["y"]
    want = (x - p["m"]) / np.sqrt(p["v"] + 1e-5) * p["s"] + p["b"]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opset,outputs,attrs,msg", [
    (9, ["y", "mean", "var", "sm", "sv"], {}, "training-mode outputs"),
    (15, ["y"], {"training_mode": 1}, "training_mode=1"),
])
def test_batchnorm_training_is_rejected(opset, outputs, attrs, msg):
    p = {"s": f32(3), "b": f32(3), "m": f32(3), "v": np.abs(f32(3)) + 0.5}
    m = make([node("BatchNormalization", ["x", "s", "b", "m", "v"], outputs, **attrs)],
             {"x": f32(2, 3, 4, 4)}, outputs, p, opset,
             out_types={"y": (T.FLOAT, [2, 3, 4, 4]), **{k: (T.FLOAT, [3]) for k in outputs[1:]}})
    with pytest.raises(UnsupportedError, match=msg):
        import_onnx(m)


def test_dropout_training_mode_is_rejected():
    m = make([node("Dropout", ["x", "r", "t"], ["y"])], {"x": f32(3, 4)}, ["y"],
             {"r": np.array(0.5, np.float32), "t": np.array(True)}, 13)
    with pytest.raises(UnsupportedError, match="training_mode=true"):
        import_onnx(m)


def test_resize_11_tf_half_pixel_for_nn_is_unsupported():
    m = make([node("Resize", ["x", "roi", "s"], ["y"],
                   coordinate_transformation_mode="tf_half_pixel_for_nn")],
             {"x": f32(1, 1, 2, 2)}, ["y"],
             {"roi": np.zeros(0, np.float32), "s": np.array([1, 1, 2, 2], np.float32)}, 11)
    with pytest.raises(UnsupportedError, match="tf_half_pixel_for_nn"):
        import_onnx(m)


def test_new_attribute_at_a_non_default_value_is_not_dropped():
    """SpaceToDepth-28 added `mode`; our op only knows DCR, so CRD must not be ignored."""
    x = f32(1, 2, 4, 4)
    ok = make([node("SpaceToDepth", ["x"], ["y"], blocksize=2, mode="DCR")], {"x": x}, ["y"],
              opset=28)
    import_onnx(ok)
    bad = make([node("SpaceToDepth", ["x"], ["y"], blocksize=2, mode="CRD")], {"x": x}, ["y"],
               opset=28)
    with pytest.raises(UnsupportedError, match="attribute mode='CRD' is not supported"):
        import_onnx(bad)


def test_function_bodies_with_unsupported_ops_are_reported_with_the_reason():
    lookup = find_rule("DynamicQuantizeLinear", 13)
    assert lookup.rule is None and "its function body uses QuantizeLinear" in lookup.reason
    assert find_rule("Shrink", 9).rule.doc == "expanded into its ONNX function body"
    m = make([node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])], {"x": f32(4)},
             ["y", "s", "z"], opset=13)
    with pytest.raises(UnsupportedError, match="DynamicQuantizeLinear x1 .*function body uses "
                                               "QuantizeLinear"):
        import_onnx(m)


def test_rules_follow_the_models_opset():
    assert find_rule("Softmax", 11).rule.since == 1
    assert find_rule("Softmax", 13).rule.since == 13
    assert find_rule("Split", 12).rule.since == 2 and find_rule("Split", 18).rule.since == 13
    assert find_rule("ReduceMean", 17).rule.since == 1
    assert find_rule("ReduceMean", 18).rule.since == 18
    assert find_rule("Relu", 5).rule is None and "predates" in find_rule("Relu", 5).reason
    assert find_rule("Gelu", 17).rule is None       # Gelu arrived in opset 20
    assert "LRN" not in supported_ops(13) and "Conv" in supported_ops(7)
    for opset in range(7, MAX_OPSET + 1):
        want = {"Reshape", "Softmax", "Conv", "Gemm", "Resize" if opset >= 10 else "Upsample",
                "ReduceSum", "Squeeze", "Split", "Slice", "Pad", "Clip", "BatchNormalization"}
        assert want <= set(supported_ops(opset))


# ---- one model at every opset --------------------------------------------------------------
def _model_at(opset):
    """Relu -> Reshape -> Softmax -> ReduceSum -> Unsqueeze -> Squeeze -> Slice -> Clip -> Pad
    -> Split -> Concat -> Gemm, each op spelled the way `opset` spells it."""
    n, inits = [], {"shape": I64(2, 12), "w": f32(12, 5)}
    n.append(node("Relu", ["x"], ["r"]))
    n.append(node("Reshape", ["r", "shape"], ["rs"]))
    n.append(node("Softmax", ["rs"], ["sm"], axis=1))
    if opset < 13:
        n.append(node("ReduceSum", ["sm"], ["red"], axes=[1], keepdims=1))
        n.append(node("Unsqueeze", ["red"], ["u"], axes=[0]))
        n.append(node("Squeeze", ["u"], ["sq"], axes=[0]))
    else:
        inits.update(ax1=I64(1), ax0=I64(0))
        n.append(node("ReduceSum", ["sm", "ax1"], ["red"], keepdims=1))
        n.append(node("Unsqueeze", ["red", "ax0"], ["u"]))
        n.append(node("Squeeze", ["u", "ax0"], ["sq"]))
    n.append(node("Mul", ["rs", "sq"], ["mul"]))
    if opset < 10:
        n.append(node("Slice", ["mul"], ["sl"], starts=[0], ends=[10], axes=[1]))
    else:
        inits.update(st=I64(0), en=I64(10), sa=I64(1))
        n.append(node("Slice", ["mul", "st", "en", "sa"], ["sl"]))
    if opset < 11:
        n.append(node("Clip", ["sl"], ["cl"], min=-1.0, max=1.0))
        n.append(node("Pad", ["cl"], ["pd"], pads=[0, 1, 0, 1]))
        n.append(node("Split", ["pd"], ["s1", "s2"], axis=1, split=[4, 8]))
    else:
        inits.update(lo=np.array(-1, np.float32), hi=np.array(1, np.float32), pads=I64(0, 1, 0, 1))
        n.append(node("Clip", ["sl", "lo", "hi"], ["cl"]))
        n.append(node("Pad", ["cl", "pads"], ["pd"]))
        if opset < 13:
            n.append(node("Split", ["pd"], ["s1", "s2"], axis=1, split=[4, 8]))
        else:
            inits["sp"] = I64(4, 8)
            n.append(node("Split", ["pd", "sp"], ["s1", "s2"], axis=1))
    n.append(node("Concat", ["s2", "s1"], ["cat"], axis=1))
    n.append(node("Gemm", ["cat", "w", "bias"], ["y"]))
    inits["bias"] = f32(5)
    return make(n, {"x": f32(2, 3, 4)}, ["y"], inits, opset)


@pytest.mark.parametrize("opset", range(7, MAX_OPSET + 1))
def test_every_default_domain_opset(opset):
    m = _model_at(opset)
    onnx.checker.check_model(m)
    x = f32(2, 3, 4)
    g = check(m, {"x": x})
    assert g.op_counts()["Softmax"] == 1
