"""aicc as an `onnx.backend.base.Backend`, for onnx's backend node conformance suite.

    rep = AiccBackend.prepare(model, "CPU")       # engine="reference" (the default)
    outputs = rep.run([x, y])                     # tuple of arrays, in graph-output order

The model is imported with `frontends.onnx.import_onnx` (input shapes fixed from the first
inputs seen) and run with the chosen engine: the reference interpreter (before or after the
-O3 graph pipeline) or the compiled path (graph passes, lowering, LLVM, native code).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, Sequence

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep


def _run_reference(graph, feeds: Dict[str, Any]) -> dict:
    from backends.reference import run_graph
    return run_graph(graph, feeds)


def _run_reference_o3(graph, feeds: Dict[str, Any]) -> dict:
    """The full -O3 graph pipeline, then the reference interpreter: checks that the graph passes
    keep every conformance case's results."""
    from backends.reference import run_graph
    from compiler import plugins
    from compiler.transform import PassContext, PassManager
    with PassContext(opt_level=3) as ctx:
        PassManager(plugins.default_pipeline(3)).run(graph, ctx)
    return run_graph(graph, feeds)


def _run_compiled(graph, feeds: Dict[str, Any]) -> dict:
    """compiler.compile at -O2 (graph pipeline, lowering, LLVM, a shared library), then one
    native call: exactly what a user's compiled model runs."""
    import compiler
    model = compiler.compile(graph, opt_level=2, num_threads=2)
    return model.run({v.name: feeds[v.name] for v in graph.inputs})


# engine name -> callable(graph, {input name: value}) -> {output name: value}
ENGINES: Dict[str, Callable[[Any, Dict[str, Any]], dict]] = {
    "reference": _run_reference, "reference-O3": _run_reference_o3,
    "compiled": _run_compiled}


def _graph_inputs(model: onnx.ModelProto) -> list:
    """The model's real inputs (graph inputs that are not initializers), in order."""
    inits = {t.name for t in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name not in inits]


class AiccBackendRep(BackendRep):
    def __init__(self, model: onnx.ModelProto, engine: str = "reference"):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; known: {sorted(ENGINES)}")
        self.model = model
        self.engine = engine
        self.input_names = _graph_inputs(model)
        self.output_names = [v.name for v in model.graph.output]
        self._graph = None
        self._shapes = None

    def _import(self, feeds: Dict[str, Any]):
        from frontends.onnx import import_onnx
        shapes = {k: tuple(v.shape) for k, v in feeds.items() if isinstance(v, np.ndarray)}
        if self._graph is None or shapes != self._shapes:
            self._graph = import_onnx(self.model, input_shapes=shapes or None)
            self._shapes = shapes
        return self._graph

    def run(self, inputs: Any, **kwargs: Any) -> tuple:
        if isinstance(inputs, dict):
            feeds = dict(inputs)
        else:
            if isinstance(inputs, np.ndarray):
                inputs = [inputs]
            feeds = dict(zip(self.input_names, inputs))
        graph = self._import(feeds)
        try:
            results = ENGINES[self.engine](graph, feeds)
        except Exception as e:
            # Compiling needs static shapes. When a result's shape depends on the *value* of an
            # integer input (axes, shape, k, pads given as runtime inputs), compile a model
            # specialised to that value, as a user would with input_shapes/initializers.
            if self.engine != "compiled" or not _STATIC_SHAPES_NEEDED.search(str(e)):
                raise
            # the inputs that can set a shape: integers and booleans (axes, shapes, k,
            # conditions) and tiny float tensors (scales, roi, depth)
            frozen = {k: np.asarray(v) for k, v in feeds.items()
                      if isinstance(v, (np.ndarray, np.generic))
                      and (v.dtype.kind in "iub" or v.size <= 8)}
            if not frozen:
                raise
            SPECIALISED.add(self.model.graph.name)
            graph = _import_specialised(self.model, feeds, frozen)
            results = ENGINES[self.engine](graph, {k: v for k, v in feeds.items()
                                                   if k not in frozen})
        return tuple(results[name] for name in self.output_names)


# names of the models the compiled engine had to specialise to input values (for the report)
SPECIALISED: set = set()
_STATIC_SHAPES_NEEDED = re.compile(r"symbolic or unknown shapes|needs static shapes")


def _import_specialised(model: onnx.ModelProto, feeds: Dict[str, Any], frozen: dict):
    """Import `model` with the inputs in `frozen` turned into initializers of their values."""
    from onnx import numpy_helper
    from frontends.onnx import import_onnx
    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = [v for v in m.graph.input if v.name not in frozen]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    for name, value in frozen.items():
        m.graph.initializer.append(numpy_helper.from_array(value, name))
    shapes = {k: tuple(v.shape) for k, v in feeds.items()
              if isinstance(v, np.ndarray) and k not in frozen}
    return import_onnx(m, input_shapes=shapes or None)


class AiccBackend(Backend):
    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        return cls.supports_device(device)

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", engine: str = "reference",
                **kwargs: Any) -> AiccBackendRep:
        if not cls.supports_device(device):
            raise ValueError(f"aicc backend does not support device {device!r}")
        return AiccBackendRep(model, engine=engine)

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> tuple:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"


prepare = AiccBackend.prepare
run_model = AiccBackend.run_model
supports_device = AiccBackend.supports_device
