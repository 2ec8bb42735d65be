"""Tests for kanpde.KAN and kanpde.MLP: one shared battery (shapes, dtype, device, parameter counts,
determinism, save/load), grid extension and update, gradient checks of the jet maps, and argument errors."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

from kanpde import KAN, MLP, JetSpec, KANLayer

F64 = torch.float64
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
BOUNDS = ((0.0, -2.0), (1.0, 2.0))  # input box of the battery's 2-D models


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _points(n: int, d: int, seed: int = 0, lo: float = -1.0, hi: float = 1.0) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, d, generator=_gen(seed), dtype=F64)


def _box_points(n: int, seed: int = 0) -> torch.Tensor:
    """Points in :data:`BOUNDS`."""
    lo, hi = torch.tensor(BOUNDS[0], dtype=F64), torch.tensor(BOUNDS[1], dtype=F64)
    return lo + (hi - lo) * torch.rand(n, 2, generator=_gen(seed), dtype=F64)


def _maxabs(t: torch.Tensor) -> float:
    return float(t.detach().abs().max())


def _kan_count(width: list[int], grid: int, k: int) -> int:
    """``n_in * n_out * (G + k + 2) + n_out`` per layer: base weight, spline scale, G + k coefficients, bias."""
    return sum(a * b * (grid + k + 2) + b for a, b in zip(width[:-1], width[1:], strict=False))


def _mlp_count(width: list[int]) -> int:
    return sum(a * b + b for a, b in zip(width[:-1], width[1:], strict=False))


MODELS = {
    "kan": (
        lambda seed=0, **kw: KAN([2, 5, 3], grid=5, k=3, input_bounds=BOUNDS, seed=seed, **kw),
        _kan_count([2, 5, 3], 5, 3),
        258,
    ),
    "kan_k2": (
        lambda seed=0, **kw: KAN([2, 4, 3], grid=4, k=2, input_bounds=BOUNDS, seed=seed, **kw),
        _kan_count([2, 4, 3], 4, 2),
        167,
    ),
    "mlp_tanh": (
        lambda seed=0, **kw: MLP([2, 16, 16, 3], input_bounds=BOUNDS, seed=seed, **kw),
        _mlp_count([2, 16, 16, 3]),
        371,
    ),
    "mlp_sin": (
        lambda seed=0, **kw: MLP([2, 8, 3], activation="sin", input_bounds=BOUNDS, seed=seed, **kw),
        _mlp_count([2, 8, 3]),
        51,
    ),
}
NAMES = list(MODELS)


def _rebuild(model):
    """A fresh model of the same class from ``model.config()`` with ``model``'s state dict loaded."""
    new = type(model)(**model.config())
    new.load_state_dict(model.state_dict())
    return new


def _params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


# ---------------------------------------------------------------------------------------------
# shared battery
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_shape_and_default_dtype(name: str) -> None:
    model = MODELS[name][0]()
    x = _box_points(17)
    y = model(x)
    assert y.shape == (17, 3)
    assert y.dtype == F64
    assert all(p.dtype == F64 for p in model.parameters())
    assert all(b.dtype == F64 for b in model.buffers() if b.is_floating_point())  # index buffers are long
    assert bool(torch.isfinite(y).all())
    assert float(y.detach().std()) > 1e-3  # not a constant
    # one point at a time gives the same rows
    rows = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert _maxabs(rows - y[:3]) < 1e-14


@pytest.mark.parametrize("name", NAMES)
def test_float32(name: str) -> None:
    model = MODELS[name][0]()
    x = _box_points(33)
    ref = model(x)
    model32 = copy.deepcopy(model).to(torch.float32)
    y = model32(x.float())
    assert y.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in model32.parameters())
    assert _maxabs(y.double() - ref) < 1e-5 * max(1.0, _maxabs(ref))
    jet = model32.jet(x.float(), JetSpec(2, pairs=((0, 0), (0, 1))))
    assert jet.dtype == torch.float32 and jet.shape == (33, 5, 3)
    # constructed in float32 directly (the draw depends on the dtype, so only types and determinism are checked)
    direct = MODELS[name][0](dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in direct.parameters())
    assert all(b.dtype == torch.float32 for b in direct.buffers() if b.is_floating_point())
    assert torch.equal(direct(x.float()), MODELS[name][0](dtype=torch.float32)(x.float()))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_device(name: str, device: str) -> None:
    model = MODELS[name][0]()
    x = _box_points(25)
    ref = model(x)
    ref_jet = model.jet(x, JetSpec(2, pairs=((0, 0), (1, 1), (0, 1))))
    moved = copy.deepcopy(model).to(device)
    assert all(p.device.type == device for p in moved.parameters())
    assert all(b.device.type == device for b in moved.buffers())
    y = moved(x.to(device))
    assert y.device.type == device
    assert _maxabs(y.cpu() - ref) < 1e-12
    jet = moved.jet(x.to(device), JetSpec(2, pairs=((0, 0), (1, 1), (0, 1))))
    assert _maxabs(jet.cpu() - ref_jet) < 1e-10 * max(1.0, _maxabs(ref_jet))
    # built on the device directly: same parameters
    built = MODELS[name][0](device=device)
    for a, b in zip(built.parameters(), model.parameters(), strict=True):
        assert a.device.type == device
        assert torch.equal(a.cpu(), b)
    if isinstance(moved, KAN):
        extended = moved.extend_grid(10, samples=x.to(device))
        assert extended.layers[0].knots.device.type == device
        assert _maxabs(extended(x.to(device)).cpu() - ref) < 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_num_parameters_hand_count(name: str) -> None:
    factory, formula, literal = MODELS[name]
    model = factory()
    assert formula == literal
    assert model.num_parameters == literal
    assert sum(p.numel() for p in model.parameters()) == literal


def test_num_parameters_deeper_kan() -> None:
    # [3, 4, 4, 1], G = 7, k = 3: 3*4*12 + 4 + 4*4*12 + 4 + 4*1*12 + 1 = 144 + 4 + 192 + 4 + 48 + 1
    assert KAN([3, 4, 4, 1], grid=7).num_parameters == 393
    # after grid extension the count follows G
    assert KAN([3, 4, 4, 1], grid=7).extend_grid(14).num_parameters == _kan_count([3, 4, 4, 1], 14, 3)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_by_seed(name: str) -> None:
    factory = MODELS[name][0]
    a, b, c = factory(seed=3), factory(seed=3), factory(seed=4)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    differs = [not torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True)]
    assert any(differs)
    x = _box_points(10)
    assert torch.equal(a(x), b(x))
    assert _maxabs(a(x) - c(x)) > 1e-3
    # the seed is private: the global generator is not consumed or reseeded
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    factory(seed=5)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name: str) -> None:
    model = MODELS[name][0](seed=2)
    with torch.no_grad():  # trained-looking parameters, not the initial ones
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=_gen(1), dtype=F64))
    x = _box_points(40, seed=5)
    new = _rebuild(model)
    assert torch.equal(new(x), model(x))
    assert new.input_bounds == model.input_bounds
    for p, q in zip(new.parameters(), model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_state_dict_round_trip_after_extend_grid() -> None:
    model = KAN([2, 4, 2], grid=5, input_bounds=BOUNDS, seed=1)
    x = _box_points(200, seed=1)
    with torch.no_grad():  # hidden activations beyond [-1, 1], so the hidden span must change
        model.layers[0].bias.add_(1.0)
    assert model.range_violation(x) > 0
    extended = model.extend_grid(10, samples=x)
    assert extended.grid == 10
    new = _rebuild(extended)
    assert new.grid == 10
    for a, b in zip(new.layers, extended.layers, strict=True):
        assert torch.equal(a.knots, b.knots)
        assert a.uniform and b.uniform
    assert torch.equal(new(x), extended(x))
    # the hidden span moved with the samples, so the plain config alone (uniform [-1, 1]) would differ
    plain = KAN(**extended.config())
    assert not torch.equal(plain.layers[1].knots, extended.layers[1].knots)


def test_state_dict_round_trip_after_update_grid() -> None:
    model = KAN([2, 4, 3, 1], grid=6, input_bounds=BOUNDS, seed=4)
    x = _box_points(300, seed=2)
    updated = model.update_grid(x)
    assert [layer.uniform for layer in updated.layers] == [True, False, False]
    spacing = updated.layers[1].knots.diff(dim=1)
    assert float(spacing.max() - spacing.min()) > 1e-3  # really non-uniform
    new = _rebuild(updated)
    assert [layer.uniform for layer in new.layers] == [True, False, False]  # the extra state survived
    for a, b in zip(new.layers, updated.layers, strict=True):
        assert torch.equal(a.knots, b.knots)
    assert torch.equal(new(x), updated(x))
    jet_spec = JetSpec(2, pairs=((0, 0), (0, 1), (1, 1)))
    assert torch.equal(new.jet(x, jet_spec), updated.jet(x, jet_spec))


# ---------------------------------------------------------------------------------------------
# grid extension and update
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [[2, 5, 1], [3, 4, 4, 1]])
def test_grid_extension_nested_is_exact(width: list[int]) -> None:
    d = width[0]
    model = KAN(width, grid=5, seed=7)
    with torch.no_grad():  # larger coefficients so that the check is not dominated by the base branch
        for layer in model.layers:
            layer.coef.mul_(3.0)
    x = _points(3000, d, seed=3)
    corners = torch.cartesian_prod(*[torch.tensor([-1.0, 1.0], dtype=F64)] * d)  # (2^d, d)
    x = torch.cat([x, corners])
    assert model.range_violation(x) == 0.0  # the hidden activations stay in range, where nesting holds
    y5 = model(x)
    m10 = model.extend_grid(10)
    m20 = m10.extend_grid(20)
    assert (m10.grid, m20.grid) == (10, 20)
    assert m10.grid_report.fit_residual < 1e-12
    assert m20.grid_report.fit_residual < 1e-12
    assert math.isnan(m10.grid_report.output_change)  # no check points were given
    assert _maxabs(m10(x) - y5) <= 1e-10
    assert _maxabs(m20(x) - y5) <= 1e-10
    assert torch.equal(model(x), y5)  # the original is left unchanged
    assert model.grid == 5


def test_grid_extension_non_nested_reports_residual() -> None:
    model = KAN([2, 5, 1], grid=5, seed=7)
    x = _points(3000, 2, seed=4)
    m7 = model.extend_grid(7)
    assert m7.grid == 7
    assert m7.grid_report.fit_residual > 1e-6
    change = _maxabs(m7(x) - model(x))
    assert 0 < change < 1e-2
    # with check points the report measures the same change
    m7s = model.extend_grid(7, samples=x)
    assert 0 < m7s.grid_report.output_change < 1e-2


def test_update_grid_returns_new_model() -> None:
    model = KAN([2, 5, 1], grid=5, seed=3)
    x = _points(500, 2, seed=5)
    before = copy.deepcopy(model.state_dict())
    y = model(x)
    updated = model.update_grid(x)
    assert updated is not model
    report = updated.grid_report
    assert math.isfinite(report.output_change) and math.isfinite(report.fit_residual)
    assert report.output_change == _maxabs(updated(x) - y)
    assert report.output_change < 1e-2
    assert model.grid_report is None
    for key, value in model.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, before[key]), key
    assert all(layer.uniform for layer in model.layers)
    assert torch.equal(model(x), y)
    # hidden knots follow the samples: uniform in the first layer, quantile-based after
    assert updated.layers[0].uniform and not updated.layers[1].uniform
    with pytest.raises(ValueError, match="grid_eps must lie in"):
        model.update_grid(x, grid_eps=1.5)


def test_extension_with_samples_covers_activations() -> None:
    model = KAN([2, 5, 3, 1], grid=5, seed=1)
    x = _points(1000, 2, seed=6)
    with torch.no_grad():  # push the hidden activations out of their [-1, 1] grids
        model.layers[0].bias.add_(1.5)
        model.layers[1].bias.sub_(2.0)
    assert model.range_violation(x) > 0.2
    # range_violation is the largest excess over each layer's span, in units of the span
    acts = model.activations(x)
    lo, hi = model.layers[1].grid_range
    manual = float(torch.maximum(lo - acts[1], acts[1] - hi).clamp(min=0).max() / 2.0)
    assert model.range_violation(x) >= manual > 0
    for new in (model.extend_grid(10, samples=x), model.extend_grid(5, samples=x), model.update_grid(x)):
        assert new.range_violation(x) == 0.0
        for layer, v in zip(new.layers[1:], new.activations(x)[1:], strict=True):
            lo, hi = layer.grid_range
            span = v.max(0).values - v.min(0).values
            assert bool((lo <= v.min(0).values - 0.05 * span).all())  # margin on both sides
            assert bool((hi >= v.max(0).values + 0.05 * span).all())
        # the old splines' tails beyond their spans are refit too: a small change, not round-off
        assert new.grid_report.output_change < 5e-2
        assert new.grid_report.output_change == _maxabs(new(x) - model(x))


# ---------------------------------------------------------------------------------------------
# gradient checks (float64)
# ---------------------------------------------------------------------------------------------


def _random_jet(n: int, spec: JetSpec, n_in: int, seed: int) -> torch.Tensor:
    jet = torch.randn(n, spec.rows, n_in, generator=_gen(seed), dtype=F64)
    jet[:, 0] = 0.9 * (2 * torch.rand(n, n_in, generator=_gen(seed + 1), dtype=F64) - 1)  # values in range
    return jet


def _layer_function(layer: torch.nn.Module, spec: JetSpec):
    """``(jet, *params) -> layer.forward_jet(jet, spec)`` as a pure function (for gradcheck)."""
    return _pure(layer, lambda module, jet: module.forward_jet(jet, spec))


class _Call(torch.nn.Module):
    """Wraps ``call(module, input)`` as a module forward, so that ``functional_call`` can swap parameters."""

    def __init__(self, module: torch.nn.Module, call) -> None:
        super().__init__()
        self.inner, self.call = module, call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.call(self.inner, x)


def _pure(module: torch.nn.Module, call):
    names = [f"inner.{name}" for name, _ in module.named_parameters()]
    wrapper = _Call(module, call)

    def f(x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        return functional_call(wrapper, dict(zip(names, params, strict=True)), (x,))

    return f


@pytest.mark.parametrize("variant", ["cubic_uniform", "k2_nonuniform"])
def test_gradcheck_kan_layer_forward_jet(variant: str) -> None:
    if variant == "cubic_uniform":
        model = KAN([2, 2], grid=3, k=3, seed=5)
        layer = model.layers[0]
    else:
        model = KAN([2, 2, 2], grid=3, k=2, seed=5).update_grid(_points(50, 2, seed=7))
        layer = model.layers[1]
        assert not layer.uniform
    assert isinstance(layer, KANLayer)
    params = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    # a mixed and a diagonal second derivative; then values only
    for spec, n in ((JetSpec(2, pairs=((0, 1), (1, 1))), 2), (JetSpec(2), 3)):
        jet = _random_jet(n, spec, 2, seed=9).requires_grad_(True)
        f = _layer_function(layer, spec)
        assert gradcheck(f, (jet, *params), eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradcheck_mlp_jet() -> None:
    model = MLP([2, 3, 3, 1], activation="silu", input_bounds=BOUNDS, seed=2)
    spec = JetSpec(2, pairs=((0, 0), (0, 1), (1, 1)))
    x = _box_points(2, seed=3).requires_grad_(True)
    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())
    assert gradcheck(_model_jet(model, spec), (x, *params), eps=1e-6, atol=1e-6, rtol=1e-5)
    assert gradcheck(_model_jet(model, JetSpec(2)), (x, *params), eps=1e-6, atol=1e-6, rtol=1e-5)


def _model_jet(model: torch.nn.Module, spec: JetSpec):
    """``(x, *params) -> model.jet(x, spec)`` as a pure function (for gradcheck)."""
    return _pure(model, lambda module, x: module.jet(x, spec))


def test_gradcheck_kan_jet_through_input_map() -> None:
    model = KAN([2, 2, 1], grid=3, input_bounds=BOUNDS, seed=8)
    spec = JetSpec(2, pairs=((0, 1), (1, 1)))
    x = _box_points(2, seed=4).requires_grad_(True)
    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())
    assert gradcheck(_model_jet(model, spec), (x, *params), eps=1e-6, atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# argument errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [KAN, MLP])
@pytest.mark.parametrize(
    ("width", "error", "match"),
    [
        ([2], ValueError, r"at least two entries.*pass e\.g\. \[2, 10, 1\]"),
        ("2,3", TypeError, r"width must be a list of layer sizes such as \[2, 10, 1\]"),
        ([2, 0, 1], ValueError, r"every entry of width must be a positive integer"),
        ([2, 2.5, 1], ValueError, r"every entry of width must be a positive integer"),
        (5, TypeError, r"width must be a list of layer sizes"),
    ],
)
def test_bad_width(cls, width, error, match) -> None:
    with pytest.raises(error, match=match):
        cls(width)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"grid": 0}, ValueError, r"grid must be a positive integer, got 0; pass e\.g\. grid="),
        ({"grid": 2.5}, TypeError, r"grid must be a positive integer, got 2\.5"),
        ({"grid": True}, TypeError, r"grid must be a positive integer"),
        ({"k": 0}, ValueError, r"k must be a positive integer, got 0; pass e\.g\. k="),
        ({"dtype": torch.int64}, TypeError, r"dtype must be a floating torch\.dtype such as torch\.float64"),
        ({"grid_range": (1.0, -1.0)}, ValueError, r"grid_range must be \(a, b\) with a < b"),
        ({"input_bounds": ((0.0,), (1.0,))}, ValueError, r"input_bounds must be \(lo, hi\) with 2 entries"),
        ({"input_bounds": ((0.0, 1.0), (1.0, 1.0))}, ValueError, r"lo < hi"),
    ],
)
def test_bad_kan_arguments(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        KAN([2, 3, 1], **kwargs)


def test_bad_mlp_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown activation 'relu'; valid ones: tanh, sin, silu, softplus"):
        MLP([2, 3, 1], activation="relu")
    with pytest.raises(TypeError, match=r"dtype must be a floating torch\.dtype"):
        MLP([2, 3, 1], dtype=torch.int64)


@pytest.mark.parametrize("cls", [KAN, MLP])
def test_bad_inputs(cls) -> None:
    model = cls([2, 3, 1])
    with pytest.raises(ValueError, match=r"input must have shape \(N, 2\), got \(4, 3\)"):
        model(torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match=r"input must have shape \(N, 2\), got \(2,\)"):
        model(torch.zeros(2, dtype=F64))
    with pytest.raises(
        TypeError, match=r"input dtype torch\.float32 does not match.*pass x\.to\(torch\.float64\)"
    ):
        model(torch.zeros(4, 2, dtype=torch.float32))
    with pytest.raises(TypeError, match=r"takes a torch\.Tensor of shape \(N, 2\), got list"):
        model([[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"input bounds must have 2 entries each with lo < hi"):
        model.set_input_bounds([0.0, 1.0], [1.0, 0.5])
    with pytest.raises(ValueError, match=r"jet pair \(0, 2\) is outside the 2 input columns"):
        model.jet(torch.zeros(4, 2, dtype=F64), JetSpec(2, pairs=((0, 2),)))


def test_bad_grid_change_arguments() -> None:
    model = KAN([2, 3, 1])
    with pytest.raises(ValueError, match=r"grid must be a positive integer, got 0"):
        model.extend_grid(0)
    with pytest.raises(TypeError, match=r"grid must be a positive integer, got 7\.5"):
        model.extend_grid(7.5)


def test_extension_with_covered_samples_stays_exact() -> None:
    """Samples whose activations already lie in the spans keep them, so nested extension stays exact."""
    model = KAN([2, 5, 1], grid=5, seed=7)
    x = _points(2000, 2, seed=8)
    assert model.range_violation(x) == 0.0
    extended = model.extend_grid(10, samples=x)
    assert extended.grid_report.output_change <= 1e-10
    assert extended.grid_report.fit_residual < 1e-12
    for a, b in zip(extended.layers, model.layers, strict=True):
        assert torch.equal(a.grid_range[0], b.grid_range[0]) and torch.equal(a.grid_range[1], b.grid_range[1])
