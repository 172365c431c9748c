"""Small models the driver tests compile (elementwise, so they lower with the compute rules
alone and compile in about 0.1 s)."""
import numpy as np

from compiler.ir.parser import parse_graph

EW_TEXT = """graph @ew(%x: f32[16,32], %y: f32[32]) {
  %w = const @w : f32[16,32]
  %half = const dense<0.5> : f32[]
  %0 = Mul(%x, %w) : f32[16,32]
  %1 = Add(%0, %y) : f32[16,32]
  %2 = Relu(%1) : f32[16,32]
  %3 = Mul(%2, %half) : f32[16,32]
  %probs = Sigmoid(%3) : f32[16,32]
  %5 = Tanh(%1) : f32[16,32]
  return %probs, %5
}"""

EW_WEIGHT = np.random.default_rng(7).standard_normal((16, 32)).astype(np.float32)


def elementwise_graph():
    """Two outputs (probs, 5), one weight, a scalar constant."""
    return parse_graph(EW_TEXT, {"w": EW_WEIGHT})


def random_feeds(specs, seed=0) -> dict:
    """{name: array} for graph inputs (Values) or model specs (TensorSpec)."""
    rng = np.random.default_rng(seed)
    out = {}
    for s in specs:
        shape = tuple(s.shape)
        dtype = s.np_dtype if hasattr(s, "np_dtype") else s.type.dtype.np_dtype
        out[s.name] = rng.standard_normal(shape).astype(dtype)
    return out
