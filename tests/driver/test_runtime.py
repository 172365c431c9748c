"""Running a compiled model: input checks with clear errors (the model stays usable after each),
fresh output arrays, non-contiguous inputs, threads, bounds checking, concurrent callers."""
import threading

import numpy as np
import pytest

import compiler
from compiler.driver import InputError

from ._models import elementwise_graph, random_feeds


@pytest.fixture(scope="module")
def model():
    return compiler.compile(elementwise_graph(), opt_level=2)


@pytest.fixture()
def feeds(model):
    return random_feeds(model.inputs, 5)


@pytest.mark.parametrize("change, message", [
    (lambda f: f.pop("y"), r"missing input 'y' \(y: f32\[32\]\); the model takes "
                           r"x: f32\[16,32\], y: f32\[32\]"),
    (lambda f: f.update(z=f["y"]), r"unexpected input 'z'; the model takes x: f32\[16,32\]"),
    (lambda f: f.update(xx=f.pop("x")), r"unexpected input 'xx' \(did you mean 'x'\?\)"),
    (lambda f: f.update(x=f["x"].astype(np.float64)),
     r"input 'x' has dtype float64, expected float32 \(x: f32\[16,32\]\); convert it with "
     r"\.astype\(np\.float32\)"),
    (lambda f: f.update(y=f["y"][:31]), r"input 'y' has shape \(31,\), expected \(32,\)"),
    (lambda f: f.update(x=f["x"].reshape(32, 16)), r"input 'x' has shape \(32, 16\)"),
    (lambda f: f.update(x=f["x"].tolist()), "input 'x' has dtype float64"),
])
def test_bad_inputs_get_clear_errors_and_the_model_survives(model, feeds, change, message):
    good = dict(feeds)
    change(feeds)
    with pytest.raises(InputError, match=message) as info:
        model.run(feeds)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, compiler.AiccError) and isinstance(info.value, ValueError)
    out = model.run(good)
    assert np.isfinite(out["probs"]).all()


def test_positional_and_argument_form_errors(model, feeds):
    with pytest.raises(InputError, match="takes 2 input"):
        model(feeds["x"], feeds["y"], feeds["y"])
    with pytest.raises(InputError, match="'x' is given both by position and by name"):
        model(feeds["x"], x=feeds["x"], y=feeds["y"])
    with pytest.raises(InputError, match="run\\(\\) takes a dict"):
        model.run([feeds["x"], feeds["y"]])
    with pytest.raises(InputError, match="missing input 'y'"):
        model(feeds["x"])


def test_outputs_are_new_arrays_each_call(model, feeds):
    a = model.run(feeds)
    b = model.run(random_feeds(model.inputs, 6))
    assert not np.shares_memory(a["probs"], b["probs"])
    assert not np.array_equal(a["probs"], b["probs"])
    np.testing.assert_array_equal(model.run(feeds)["probs"], a["probs"])


def test_non_contiguous_and_read_only_inputs(model, feeds):
    expected = model.run(feeds)
    big = np.zeros((16, 64), np.float32)
    big[:, ::2] = feeds["x"]
    y = feeds["y"].copy()
    y.flags.writeable = False
    out = model.run({"x": big[:, ::2], "y": y})
    np.testing.assert_array_equal(out["5"], expected["5"])


def test_num_threads_setter(model, feeds):
    expected = model.run(feeds)
    model.num_threads = 1
    assert model.num_threads == 1
    np.testing.assert_array_equal(model.run(feeds)["probs"], expected["probs"])
    model.num_threads = 2
    assert model.num_threads == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(compiler.AiccError, match="positive integer"):
            model.num_threads = bad


def test_concurrent_callers_share_one_arena_safely():
    # fuse disabled: intermediates live in the arena, which every call reuses
    m = compiler.compile(elementwise_graph(), disabled_passes=["fuse"])
    assert m.stats["arena_bytes"] > 0
    inputs = [random_feeds(m.inputs, s) for s in range(4)]
    expected = [m.run(f) for f in inputs]
    errors = []

    def worker(k):
        for _ in range(200):
            if not np.array_equal(m.run(inputs[k])["5"], expected[k]["5"]):
                errors.append(k)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_bounds_checked_build_runs_the_same(model, feeds):
    checked = compiler.compile(elementwise_graph(), bounds_check=True)
    np.testing.assert_array_equal(checked.run(feeds)["probs"], model.run(feeds)["probs"])
    assert checked.metadata["options"]["bounds_check"] is True
