"""compiler.compile on a torch module (a separate file: importing torch takes seconds)."""
import numpy as np
import pytest

import compiler


def test_compile_torch_module_with_example_inputs():
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def forward(self, x):
            return torch.tanh(x * 2.0 + 1.0)

    x = torch.linspace(-2, 2, 24).reshape(4, 6)
    m = compiler.compile(Net().eval(), example_inputs=(x,))
    np.testing.assert_allclose(m(x.numpy()), torch.tanh(x * 2 + 1).numpy(), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(compiler.AiccError, match="needs example_inputs"):
        compiler.compile(Net())


def test_compile_torch_layers_with_weights():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = torch.randn(5, 6)
    m = compiler.compile(net.eval(), example_inputs=(x,))
    assert m.stats["weights"] >= 2
    with torch.no_grad():
        np.testing.assert_allclose(m(x.numpy()), net(x).numpy(), rtol=1e-5, atol=1e-5)
