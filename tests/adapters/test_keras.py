"""cyclr.keras: the schedule and the optimizers in real model.fit, saved and loaded, on JAX and PyTorch.

The in-process tests run on the backend the root conftest selects (JAX); the PyTorch backend, fixed per
process, is checked in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import torch
from float32_oracle import CATALOGUE, CATALOGUE_STEPS, LARGE_COUNTS, expected, float32_ulps, groups_of

import cyclr
import cyclr.keras
from cyclr._float32 import evaluate
from cyclr.cyclic import MODES, WAVEFORMS

SPEC = cyclr.CyclicLR(
    base_lr=0.01,
    max_lr=0.1,
    step_size_up=3,
    step_size_down=5,
    mode="triangular2",
    base_momentum=0.5,
    max_momentum=0.95,
)
X, Y = np.ones((8, 1), np.float32), np.zeros((8, 1), np.float32)  # loss (w - 0)**2 per sample: gradient 2w
EPOCHS = 3
STEPS = 8 * EPOCHS


def one_weight_model(optimizer: keras.optimizers.Optimizer, **compile_options) -> keras.Model:
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")]
    )
    model.compile(optimizer=optimizer, loss="mse", **compile_options)
    return model


def fit(model: keras.Model, epochs: int = EPOCHS, callbacks: tuple = ()) -> float:
    model.fit(X, Y, batch_size=1, epochs=epochs, shuffle=False, verbose=0, callbacks=list(callbacks))
    return float(model.get_weights()[0][0, 0])


def keras_sgd(
    spec: cyclr.Spec, steps: int, *, nesterov: bool = False, momentum: float | None = None
) -> float:
    """Keras' SGD update by hand, in float32, with the spec's lr and momentum at each step."""
    weight, velocity = np.float32(1.0), np.float32(0.0)
    for t in range(steps):
        lr = np.float32(spec.lr_at(t))
        mu = np.float32(spec.momentum_at(t) if momentum is None else momentum)
        gradient = np.float32(2.0) * weight
        velocity = mu * velocity - lr * gradient
        weight = weight + (mu * velocity - lr * gradient if nesterov else velocity)
    return float(weight)


def keras_adam(spec: cyclr.Spec, steps: int, *, beta_1: float | None = None, beta_2: float = 0.999) -> float:
    """Keras' Adam update by hand (in float64), with beta_1 the spec's momentum at each step."""
    weight, m, v, epsilon = 1.0, 0.0, 0.0, 1e-7
    for t in range(steps):
        lr, gradient = spec.lr_at(t), 2.0 * weight
        b1 = spec.momentum_at(t) if beta_1 is None else beta_1
        m += (gradient - m) * (1 - b1)
        v += (gradient**2 - v) * (1 - beta_2)
        alpha = lr * np.sqrt(1 - beta_2 ** (t + 1)) / (1 - b1 ** (t + 1))
        weight -= alpha * m / (np.sqrt(v) + epsilon)
    return weight


class Recorder(keras.callbacks.Callback):
    """The optimizer's step, learning rate and momentum after every batch."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int, float, float]] = []

    def on_train_batch_end(self, batch, logs=None):
        if hasattr(self.model, "jax_state_sync"):  # JAX keeps the state outside the model between steps
            self.model.jax_state_sync()
        optimizer = self.model.optimizer
        momentum = getattr(optimizer, "current_momentum", np.nan)  # only cyclr's optimizers schedule it
        self.rows.append((int(optimizer.iterations), float(optimizer.learning_rate), float(momentum)))


# -- in model.fit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_cycles_lr_and_momentum_in_compiled_fit(nesterov):
    recorder = Recorder()
    weight = fit(one_weight_model(cyclr.keras.SGD(SPEC, nesterov=nesterov)), callbacks=(recorder,))
    steps = np.array([row[0] for row in recorder.rows])
    np.testing.assert_array_equal(steps, np.arange(1, STEPS + 1))
    assert float32_ulps([row[1] for row in recorder.rows], SPEC.lr_at(steps)) <= 2
    assert float32_ulps([row[2] for row in recorder.rows], SPEC.momentum_at(steps)) <= 2
    assert weight == pytest.approx(keras_sgd(SPEC, STEPS, nesterov=nesterov), rel=1e-6)
    fixed = keras_sgd(SPEC, STEPS, nesterov=nesterov, momentum=SPEC.max_momentum)
    assert abs(weight - fixed) > 1e-2 * abs(fixed)  # the cycled momentum made the difference


# Keras' own Adam is 1e-5 away from exact arithmetic after 24 steps: float32 ``1 - beta_2**t`` cancels.
ADAM_TOLERANCE = 1e-4


def test_adam_cycles_beta_1_in_compiled_fit():
    weight = fit(one_weight_model(cyclr.keras.Adam(SPEC)))
    assert weight == pytest.approx(keras_adam(SPEC, STEPS), rel=ADAM_TOLERANCE)
    fixed = keras_adam(SPEC, STEPS, beta_1=SPEC.max_momentum)
    assert abs(weight - fixed) > 1e-2 * abs(fixed)  # the cycled beta_1 made the difference


def test_adam_matches_torch_adam_with_cyclic_betas():
    """torch's CyclicLR cycles Adam's betas[0], and torch debiases with the current beta1: so do we."""
    weight = fit(one_weight_model(cyclr.keras.Adam(SPEC, epsilon=1e-12)))
    parameter = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.Adam([parameter], lr=0.1, eps=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = torch.optim.lr_scheduler.CyclicLR(
            optimizer,
            base_lr=0.01,
            max_lr=0.1,
            step_size_up=3,
            step_size_down=5,
            mode="triangular2",
            base_momentum=0.5,
            max_momentum=0.95,
        )
        for _ in range(STEPS):
            optimizer.zero_grad()
            (parameter**2).sum().backward()
            optimizer.step()
            scheduler.step()
    assert weight == pytest.approx(parameter.item(), rel=ADAM_TOLERANCE)


def test_a_spec_without_momentum_keeps_the_optimizers_fixed_momentum():
    spec = cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False)
    optimizer = cyclr.keras.SGD(spec, momentum=0.5)
    assert optimizer.momentum == 0.5 and float(optimizer.current_momentum) == 0.5
    weight = fit(one_weight_model(optimizer))
    assert weight == pytest.approx(keras_sgd(spec, STEPS, momentum=0.5), rel=1e-6)
    adam = cyclr.keras.Adam(spec, beta_1=0.8)
    assert adam.beta_1 == 0.8 and "beta_1" in adam.get_config()


def test_the_schedule_in_a_keras_optimizer():
    recorder = Recorder()
    optimizer = keras.optimizers.SGD(learning_rate=cyclr.keras.Schedule(SPEC), momentum=0.9)
    weight = fit(one_weight_model(optimizer), callbacks=(recorder,))
    steps = np.array([row[0] for row in recorder.rows])
    assert float32_ulps([row[1] for row in recorder.rows], SPEC.lr_at(steps)) <= 2
    assert weight == pytest.approx(keras_sgd(SPEC, STEPS, momentum=0.9), rel=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the train step is compiled by default on JAX")
def test_a_callback_that_sets_momentum_is_ignored_once_compiled():
    """The workaround Keras users try first, and why cyclr.keras.SGD exists."""

    class CycleMomentum(keras.callbacks.Callback):
        step = 0

        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.momentum = float(SPEC.momentum_at(self.step))
            self.step += 1

    def run(**compile_options) -> float:
        optimizer = keras.optimizers.SGD(learning_rate=cyclr.keras.Schedule(SPEC), momentum=0.9)
        return fit(one_weight_model(optimizer, **compile_options), callbacks=(CycleMomentum(),))

    # Compiled: the momentum of the first batch is traced into the step as a constant, for good.
    assert run() == pytest.approx(keras_sgd(SPEC, STEPS, momentum=SPEC.momentum_at(0)), rel=1e-6)
    assert run(run_eagerly=True) == pytest.approx(keras_sgd(SPEC, STEPS), rel=1e-6)


# -- save and load ---------------------------------------------------------------------------------------

OPTIMIZERS = {
    "keras Adam with Schedule": lambda: keras.optimizers.Adam(learning_rate=cyclr.keras.Schedule(SPEC)),
    "cyclr SGD": lambda: cyclr.keras.SGD(SPEC, nesterov=True, weight_decay=0.01),
    "cyclr Adam": lambda: cyclr.keras.Adam(SPEC, amsgrad=True),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_saved_model_keeps_its_schedule_and_optimizer_state(name, tmp_path):
    model = one_weight_model(OPTIMIZERS[name]())
    fit(model, epochs=2)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is type(model.optimizer)
    schedule = loaded.optimizer._learning_rate
    assert isinstance(schedule, cyclr.keras.Schedule) and schedule.spec == SPEC
    assert int(loaded.optimizer.iterations) == 16
    assert float(loaded.optimizer.learning_rate) == float(model.optimizer.learning_rate)
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored), keras.ops.convert_to_numpy(saved))
    # Training on from the file is training on.
    assert fit(loaded, epochs=1) == pytest.approx(fit(model, epochs=1), rel=1e-7)


def test_config_round_trip():
    schedule = cyclr.keras.Schedule(cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2]), group=1)
    again = cyclr.keras.Schedule.from_config(schedule.get_config())
    assert again.spec == schedule.spec and again.group == 1
    for cls in (cyclr.keras.SGD, cyclr.keras.Adam):
        optimizer = cls(SPEC, clipnorm=1.0, name="cyclic")
        config = optimizer.get_config()
        assert "learning_rate" not in config and config["spec"] == SPEC.to_dict()
        again = cls.from_config(config)
        assert again.spec == SPEC and again.clipnorm == 1.0 and again.name == "cyclic"
        assert keras.optimizers.deserialize(keras.optimizers.serialize(optimizer)).spec == SPEC


# -- values: float32-exact, every mode and every spec family ---------------------------------------------


def compiled(function):
    """The backend's compiler when it has a cheap one (jax.jit); the traced path is what it runs."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    return function


@pytest.mark.parametrize("waveform", WAVEFORMS)
@pytest.mark.parametrize("mode", MODES)
def test_traced_values_are_float32_exact_up_to_int32_max(mode, waveform):
    spec = cyclr.CyclicLR(
        base_lr=0.001,
        max_lr=0.006,
        step_size_up=2000,
        step_size_down=3000,
        mode=mode,
        gamma=0.99994,
        waveform=waveform,
    )
    counts = np.unique(np.concatenate([LARGE_COUNTS, np.arange(0, 20_000, 997)])).astype(np.int32)
    schedule = cyclr.keras.Schedule(spec)
    momentum = spec._formula(cyclr.keras.FLOAT32, "momentum")
    lr_values, momentum_values = compiled(
        lambda c: (schedule(c), evaluate(cyclr.keras.TENSORS, momentum, c))
    )(keras.ops.convert_to_tensor(counts))
    lr_values, momentum_values = (
        keras.ops.convert_to_numpy(lr_values),
        keras.ops.convert_to_numpy(momentum_values),
    )
    assert float32_ulps(lr_values, spec.lr_at(counts.astype(np.int64))) <= 2
    assert float32_ulps(momentum_values, spec.momentum_at(counts.astype(np.int64))) <= 2
    # Eager, the core computes the value: the float64 value rounded once.
    assert float(schedule(keras.ops.convert_to_tensor(2**31 - 1, "int32"))) == np.float32(
        spec.lr_at(2**31 - 1)
    )


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_spec_family(name):
    spec = CATALOGUE[name]
    for group in groups_of(spec):
        schedule = cyclr.keras.Schedule(spec, group=group)
        assert (
            float32_ulps(
                keras.ops.convert_to_numpy(compiled(schedule)(keras.ops.convert_to_tensor(CATALOGUE_STEPS))),
                expected(spec, "lr", CATALOGUE_STEPS, group),
            )
            <= 2
        )
        assert float32_ulps(schedule(7), expected(spec, "lr", 7, group)) <= 0.5


# -- errors, one per documented error ---------------------------------------------------------------------


def test_not_a_spec():
    with pytest.raises(TypeError, match="cyclr.keras.Schedule expects a cyclr spec"):
        cyclr.keras.Schedule(0.01)
    with pytest.raises(TypeError, match="cyclr.keras.SGD expects a cyclr spec"):
        cyclr.keras.SGD(0.01)


def test_grouped_spec_without_group():
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="the spec has 2 parameter groups .* pass group=i"):
        cyclr.keras.Adam(spec)


def test_group_out_of_range():
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="group must be < 2 .*, got 5"):
        cyclr.keras.Schedule(spec, group=5)


def test_group_without_groups():
    with pytest.raises(ValueError, match="group=1 given, but the spec has no parameter groups"):
        cyclr.keras.SGD(SPEC, group=1)


def test_group_not_an_integer():
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2])
    with pytest.raises(TypeError, match="group must be an integer, got '1'"):
        cyclr.keras.Schedule(spec, group="1")


def test_learning_rate_argument():
    with pytest.raises(
        TypeError, match="cyclr.keras.SGD takes its learning rate from the spec; got learning_rate=0.1"
    ):
        cyclr.keras.SGD(SPEC, learning_rate=0.1)


def test_momentum_argument_while_the_spec_schedules_it():
    with pytest.raises(TypeError, match="cyclr.keras.SGD: momentum=0.9 conflicts with the spec"):
        cyclr.keras.SGD(SPEC, momentum=0.9)
    with pytest.raises(TypeError, match="cyclr.keras.Adam: beta_1=0.9 conflicts with the spec"):
        cyclr.keras.Adam(SPEC, beta_1=0.9)


def test_a_custom_scale_fn_cannot_be_saved():
    schedule = cyclr.keras.Schedule(cyclr.CyclicLR(scale_fn=lambda cycle: 1.0))
    with pytest.raises(ValueError, match="scale_fn=.* cannot be serialized"):
        schedule.get_config()


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="compiled by default on JAX")
def test_a_scale_fn_that_cannot_be_traced():
    spec = cyclr.CyclicLR(scale_fn=lambda cycle: 1.0 if cycle < 3 else 0.5)
    with pytest.raises(TypeError, match="scale_fn=<lambda> cannot run on a Keras integer tensor"):
        fit(one_weight_model(cyclr.keras.SGD(spec)), epochs=1)


def run_python(code: str, **environment: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**env, **environment}
    )


def test_importing_without_keras_names_the_extra():
    result = run_python("import sys\nsys.modules['keras'] = None\nimport cyclr.keras", KERAS_BACKEND="jax")
    assert result.returncode != 0
    assert 'ImportError: cyclr.keras needs Keras 3: pip install "cyclr[keras]"' in result.stderr


def test_importing_without_a_keras_backend_says_how_to_choose_one():
    if run_python("import tensorflow").returncode == 0:
        pytest.skip("TensorFlow is installed: Keras' default backend works")
    result = run_python("import cyclr.keras")
    assert result.returncode != 0
    assert "set KERAS_BACKEND=jax or KERAS_BACKEND=torch" in result.stderr


# -- the PyTorch backend ------------------------------------------------------------------------------------

TORCH_BACKEND_SCRIPT = """
import sys, numpy as np, keras, torch
sys.path[:0] = [{tests!r}, {adapters!r}]
assert keras.backend.backend() == "torch"
import test_keras as t, cyclr, cyclr.keras
from cyclr._float32 import evaluate
from float32_oracle import LARGE_COUNTS, float32_ulps

# model.fit: the lr at every step, the cycled momentum and beta_1 acting on the weight.
recorder = t.Recorder()
weight = t.fit(t.one_weight_model(cyclr.keras.SGD(t.SPEC)), callbacks=(recorder,))
steps = np.array([row[0] for row in recorder.rows])
assert list(steps) == list(range(1, t.STEPS + 1)), steps
assert float32_ulps([row[1] for row in recorder.rows], t.SPEC.lr_at(steps)) <= 2
assert float32_ulps([row[2] for row in recorder.rows], t.SPEC.momentum_at(steps)) <= 2
assert abs(weight - t.keras_sgd(t.SPEC, t.STEPS)) <= 1e-6 * abs(weight), weight
weight = t.fit(t.one_weight_model(cyclr.keras.Adam(t.SPEC)))
assert abs(weight - t.keras_adam(t.SPEC, t.STEPS)) <= t.ADAM_TOLERANCE * abs(weight), weight

# Save and load.
for make in t.OPTIMIZERS.values():
    model = t.one_weight_model(make())
    t.fit(model, epochs=2)
    model.save({path!r})
    loaded = keras.models.load_model({path!r})
    assert type(loaded.optimizer) is type(model.optimizer) and loaded.optimizer._learning_rate.spec == t.SPEC
    assert int(loaded.optimizer.iterations) == 16
    assert abs(t.fit(loaded, epochs=1) - t.fit(model, epochs=1)) <= 1e-7

# The traced path (torch.compile, TensorFlow graphs) on torch tensors: double-float32 in keras.ops.
counts = keras.ops.convert_to_tensor(LARGE_COUNTS)
for mode in ("triangular", "triangular2", "exp_range"):
    for waveform in ("triangular", "cosine", "welch"):
        spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000, step_size_down=3000, mode=mode,
                              gamma=0.99994, waveform=waveform)
        for quantity in ("lr", "momentum"):
            formula = spec._formula(cyclr.keras.FLOAT32, quantity)
            values = keras.ops.convert_to_numpy(evaluate(cyclr.keras.TENSORS, formula, counts))
            steps = LARGE_COUNTS.astype(np.int64)
            exact = spec.lr_at(steps) if quantity == "lr" else spec.momentum_at(steps)
            assert values.dtype == np.float32 and float32_ulps(values, exact) <= 2, (mode, waveform, quantity)
print("ok")
"""


def test_the_pytorch_backend(tmp_path):
    here = Path(__file__).resolve().parent
    script = TORCH_BACKEND_SCRIPT.format(
        tests=str(here.parent), adapters=str(here), path=str(tmp_path / "model.keras")
    )
    result = run_python(textwrap.dedent(script), KERAS_BACKEND="torch")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


# -- issue 10: int32 counts, checked when the schedule is built -----------------------------------------


@pytest.mark.parametrize("build", [cyclr.keras.Schedule, cyclr.keras.SGD, cyclr.keras.Adam])
def test_a_spec_past_int32_is_refused_when_built(build):
    spec = cyclr.CosineAnnealingWarmRestarts(0.1, T_0=3, T_mult=1000)
    with pytest.raises(ValueError, match=r"CosineAnnealingWarmRestarts\(T_0=3, T_mult=1000\) is exact under Keras only for counts below \d+"):
        build(spec)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="traced with jax.jit")
def test_constants_past_int32_are_exact_when_traced():
    import jax

    spec = cyclr.OneCycleLR(max_lr=0.1, total_steps=2**40)
    schedule = cyclr.keras.Schedule(spec)
    counts = np.array([0, 5, 2**31 - 1], dtype=np.int32)
    traced = np.asarray(jax.jit(schedule)(counts), dtype=np.float64)
    np.testing.assert_allclose(traced, spec.lr_at(counts.astype(np.int64)), rtol=2**-23)
