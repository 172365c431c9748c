"""aicc as an `onnx.backend.base.Backend`, for onnx's backend node conformance suite.

    rep = AiccBackend.prepare(model, "CPU")       # engine="reference" (the default)
    outputs = rep.run([x, y])                     # tuple of arrays, in graph-output order

The model is imported with `frontends.onnx.import_onnx` (input shapes fixed from the first
inputs seen) and run with the chosen engine. Only the reference interpreter exists today;
`ENGINES` is the hook for a compiled engine later.
"""
from __future__ import annotations

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


# engine name -> callable(graph, {input name: value}) -> {output name: value}
ENGINES: Dict[str, Callable[[Any, Dict[str, Any]], dict]] = {
    "reference": _run_reference, "reference-O3": _run_reference_o3}


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
        results = ENGINES[self.engine](graph, feeds)
        return tuple(results[name] for name in self.output_names)


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
