"""Frontends: `onnx` (ModelProto -> graph IR) and `fx` (torch.fx / torch.export -> graph IR)."""
