"""cyclr.keras: the schedule and the optimizers in real model.fit, saved and loaded, on every backend.

The module runs on the backend that KERAS_BACKEND names (fixed per process): in the suite's own process
on JAX (the root conftest's default), and once more on TensorFlow and once on PyTorch, each in a pytest
subprocess of its own (tests/adapters/test_keras_backends.py). Where the backends differ (TensorFlow's
int64 step counter, JAX's compiled-by-default train step) a test says which it checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import torch
from float32_oracle import CATALOGUE, CATALOGUE_STEPS, LARGE_COUNTS, expected, float32_ulps, groups_of

import cyclr
import cyclr.keras
from cyclr._float32 import evaluate
from cyclr._float64 import evaluate64
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
BACKEND = keras.backend.backend()
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
    spec: cyclr.Spec, steps: int, *, nesterov: bool = False, momentum: float | None = None, start: int = 0
) -> float:
    """Keras' SGD update by hand, in float32, with the spec's lr and momentum at each step (from
    ``start``, the optimizer's step count before the first update)."""
    weight, velocity = np.float32(1.0), np.float32(0.0)
    for t in range(start, start + steps):
        lr = np.float32(spec.lr_at(t))
        mu = np.float32(spec.momentum_at(t) if momentum is None else momentum)
        gradient = np.float32(2.0) * weight
        velocity = mu * velocity - lr * gradient
        weight = weight + (mu * velocity - lr * gradient if nesterov else velocity)
    return float(weight)


def keras_adam(
    spec: cyclr.Spec, steps: int, *, beta_1: float | None = None, beta_2: float = 0.999, start: int = 0
) -> float:
    """Keras' Adam update by hand (in float64), with beta_1 the spec's momentum at each step."""
    weight, m, v, epsilon = 1.0, 0.0, 0.0, 1e-7
    for t in range(start, start + steps):
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


# How the train step is compiled: the backend's default (jax.jit on JAX; a tf.function graph on
# TensorFlow on a CPU, XLA on a GPU; eager on PyTorch), and on TensorFlow XLA as well.
COMPILE = {"default": {}} | ({"xla": {"jit_compile": True}} if BACKEND == "tensorflow" else {})


def assert_recorded_the_spec(rows: list[tuple[int, float, float]], spec: cyclr.Spec, start: int = 0) -> None:
    """One row per batch, steps start+1, start+2, ...: the lr and momentum of the next update, the spec's."""
    steps = np.array([row[0] for row in rows], dtype=np.int64)
    np.testing.assert_array_equal(steps, np.arange(start + 1, start + len(rows) + 1))
    assert float32_ulps([row[1] for row in rows], spec.lr_at(steps)) <= 2
    assert float32_ulps([row[2] for row in rows], spec.momentum_at(steps)) <= 2


@pytest.mark.parametrize("compile_options", list(COMPILE.values()), ids=list(COMPILE))
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_cycles_lr_and_momentum_in_compiled_fit(nesterov, compile_options):
    recorder = Recorder()
    model = one_weight_model(cyclr.keras.SGD(SPEC, nesterov=nesterov), **compile_options)
    weight = fit(model, callbacks=(recorder,))
    assert len(recorder.rows) == STEPS
    assert_recorded_the_spec(recorder.rows, SPEC)
    assert weight == pytest.approx(keras_sgd(SPEC, STEPS, nesterov=nesterov), rel=1e-6)
    fixed = keras_sgd(SPEC, STEPS, nesterov=nesterov, momentum=SPEC.max_momentum)
    assert abs(weight - fixed) > 1e-2 * abs(fixed)  # the cycled momentum made the difference


# Keras' own Adam is 1e-5 away from exact arithmetic after 24 steps: float32 ``1 - beta_2**t`` cancels.
ADAM_TOLERANCE = 1e-4


@pytest.mark.parametrize("compile_options", list(COMPILE.values()), ids=list(COMPILE))
def test_adam_cycles_beta_1_in_compiled_fit(compile_options):
    recorder = Recorder()
    weight = fit(one_weight_model(cyclr.keras.Adam(SPEC), **compile_options), callbacks=(recorder,))
    assert len(recorder.rows) == STEPS
    assert_recorded_the_spec(recorder.rows, SPEC)
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


@pytest.mark.skipif(BACKEND == "torch", reason="eager by default on PyTorch: the callback acts")
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
    # Training on from the file is training on, bit for bit: the same steps, rates and momentum buffers.
    assert fit(loaded, epochs=1) == fit(model, epochs=1)


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
    """The backend's compiler when it has a cheap one (jax.jit; tf.function with XLA, the GPU default):
    the traced path is what it runs. PyTorch's torch.compile takes seconds per function: eager there."""
    if BACKEND == "jax":
        import jax

        return jax.jit(function)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True)
    return function


def test_the_backend_is_the_one_asked_for():
    """The per-backend runs are what they say: Keras runs on KERAS_BACKEND."""
    assert BACKEND == os.environ["KERAS_BACKEND"]


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
    lr = spec._formula(cyclr.keras.FLOAT32, "lr")
    # The schedule as Keras calls it, and the double-float32 formula on the backend's own tensors (what
    # a compiled step runs; on PyTorch, where the schedule is eager here, the formula alone shows it).
    values = compiled(
        lambda c: (
            schedule(c),
            evaluate(cyclr.keras.TENSORS, lr, c),
            evaluate(cyclr.keras.TENSORS, momentum, c),
        )
    )(keras.ops.convert_to_tensor(counts))
    lr_values, formula_values, momentum_values = (keras.ops.convert_to_numpy(v) for v in values)
    assert lr_values.dtype == momentum_values.dtype == np.float32
    assert float32_ulps(lr_values, spec.lr_at(counts.astype(np.int64))) <= 2
    assert float32_ulps(formula_values, spec.lr_at(counts.astype(np.int64))) <= 2
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


# -- int64 steps: TensorFlow's optimizer.iterations ------------------------------------------------------

# Past int32, where an int32 step wraps (to a negative count), up to 2**40.
INT64_COUNTS = np.array(
    [0, 1, 4_999, 2**31 - 1, 2**31, 2**31 + 1, 2**32 + 5, 987_654_321_987, 2**40 - 1, 2**40], dtype=np.int64
)


def int64_path(function):
    """``function`` on the int64 path: traced by TensorFlow (a graph and XLA); on JAX (int32 only without
    x64) and PyTorch (eager) the formula on their tensors directly."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return [tf.function(function), tf.function(function, jit_compile=True)]
    return []


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_int64_steps_up_to_2_40_are_float32_exact(name):
    """The int64 path (float64 arithmetic, rounded once) and the eager path (the core) at int64 steps."""
    spec = CATALOGUE[name]
    for group in groups_of(spec):
        schedule = cyclr.keras.Schedule(spec, group=group)
        exact = expected(spec, "lr", INT64_COUNTS, group)
        assert float32_ulps(keras.ops.convert_to_numpy(schedule(INT64_COUNTS)), exact) <= 0.5  # eager
        for function in int64_path(schedule):
            values = keras.ops.convert_to_numpy(function(keras.ops.convert_to_tensor(INT64_COUNTS, "int64")))
            assert values.dtype == np.float32 and float32_ulps(values, exact) <= 2
        if BACKEND == "torch":  # what torch.compile would trace: the formula on int64 torch tensors
            formula = spec._formula(cyclr.keras.FLOAT64, "lr")
            steps = torch.from_numpy(INT64_COUNTS[:, None] if spec.groups else INT64_COUNTS)
            values = keras.ops.convert_to_numpy(evaluate64(keras.ops, "Keras", formula, steps))
            assert float32_ulps(values if group is None else values[:, group], exact) <= 2
    if spec.has_momentum:
        momentum = spec._formula(cyclr.keras.FLOAT64, "momentum")
        counts = INT64_COUNTS[:, None] if spec.groups else INT64_COUNTS
        for function in int64_path(lambda c: evaluate64(keras.ops, "Keras", momentum, c)):
            values = keras.ops.convert_to_numpy(function(keras.ops.convert_to_tensor(counts, "int64")))
            assert float32_ulps(values, expected(spec, "momentum", INT64_COUNTS)) <= 2


@pytest.mark.skipif(BACKEND != "tensorflow", reason="iterations: int64 on TensorFlow, int32 on JAX, PyTorch")
@pytest.mark.parametrize("compile_options", list(COMPILE.values()), ids=list(COMPILE))
@pytest.mark.parametrize("start", [2**31 - 8, 2**40 - 8], ids=["across 2**31", "across 2**40"])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_fit_past_int32_on_tensorflows_int64_step_counter(optimizer, start, compile_options):
    """A model resumed at step ``start`` trains on with the spec's values at its own steps, not wrapped."""
    # A period of 7: a wrapped count (start - 2**32) would be at another point of the cycle.
    spec = cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=4, base_momentum=0.5)
    model = one_weight_model(getattr(cyclr.keras, optimizer)(spec), **compile_options)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(start)
    recorder = Recorder()
    weight = fit(model, epochs=2, callbacks=(recorder,))  # 16 steps, across start + 8
    assert_recorded_the_spec(recorder.rows, spec, start=start)
    if optimizer == "SGD":
        assert weight == pytest.approx(keras_sgd(spec, 16, start=start), rel=1e-6)
    else:
        assert weight == pytest.approx(keras_adam(spec, 16, start=start), rel=ADAM_TOLERANCE)


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
    """No KERAS_BACKEND and no TensorFlow (hidden here: CI installs it): Keras' default cannot load."""
    result = run_python("import sys\nsys.modules['tensorflow'] = None\nimport cyclr.keras")
    assert result.returncode != 0
    assert "set KERAS_BACKEND=jax or KERAS_BACKEND=torch" in result.stderr


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
