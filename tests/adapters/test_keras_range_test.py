"""cyclr.keras.LRRangeTestCallback and cyclr.keras.find_lr: the LR range test run by model.fit.

Each claim of the callback's docstring, checked in real ``model.fit`` on the backend KERAS_BACKEND names:
JAX in the suite's own process (the train step compiled with ``jax.jit``), TensorFlow (a tf.function
graph) and PyTorch (eager) each in a pytest subprocess (tests/adapters/test_keras_backends.py). A
one-weight model gives hand-computable weights and losses; a small MLP on synthetic data gives a real
sweep.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import cyclr
import cyclr.keras
from cyclr.rangetest import LRRangeTest

# One weight, no bias, y = 0: the loss of a batch is w**2 * mean(x**2), its gradient 2 w mean(x**2).
# Eight different samples in batches of 3, 3 and 2: a running mean over the epoch, weighted by batch
# size, is not any batch's loss. Gradient descent diverges above lr = 1 / mean(x**2), about 1.
X = (1 + (np.arange(8, dtype=np.float32) - 3.5) / 20)[:, None]
Y = np.zeros((8, 1), np.float32)
BATCH = 3
BATCHES = [X[i : i + BATCH, 0].astype(np.float64) for i in range(0, len(X), BATCH)]


def one_weight_model(optimizer: keras.optimizers.Optimizer | None = None, **compile_options) -> keras.Model:
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")]
    )
    model.compile(optimizer=optimizer or keras.optimizers.SGD(), loss="mse", **compile_options)
    return model


def fit(
    model: keras.Model, epochs: int, *callbacks: keras.callbacks.Callback, **options
) -> keras.callbacks.History:
    return model.fit(
        X, Y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=list(callbacks), **options
    )


def hand_sgd(lrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain SGD by hand at the given lrs (float32 as the optimizer's variable): losses, weights after."""
    weight, losses, weights = 1.0, [], []
    for k, lr in enumerate(np.float32(lrs).astype(np.float64)):
        mean_square = float(np.mean(BATCHES[k % len(BATCHES)] ** 2))
        losses.append(weight**2 * mean_square)
        weight -= lr * 2 * weight * mean_square
        weights.append(weight)
    return np.array(losses), np.array(weights)


class Weights(keras.callbacks.Callback):
    """The one weight and the logged loss after every batch (listed after the range test's callback)."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: list[float] = []
        self.logged: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        kernel = self.model.layers[0].kernel  # self.model syncs JAX's state
        self.weights.append(float(keras.ops.convert_to_numpy(kernel.value)[0, 0]))
        self.logged.append(logs["loss"])


def state(model: keras.Model) -> list[np.ndarray]:
    """Every variable of the model and of its optimizer, as numpy copies."""
    variables = [*model.variables, *model.optimizer.variables]
    return [np.array(keras.ops.convert_to_numpy(v.value), copy=True) for v in variables]


def assert_bit_identical(after: list[np.ndarray], before: list[np.ndarray]) -> None:
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


# -- the sweep in model.fit --------------------------------------------------------------------------------


def test_each_batch_trains_at_its_lr_in_the_compiled_step_and_records_its_own_loss():
    """The weight after every batch is hand-written SGD at the swept lrs; the losses are the batches'."""
    model = one_weight_model()
    if keras.backend.backend() == "jax":
        assert model.jit_compile  # the train step is jax.jit-compiled: the lr must be a variable it reads
    finder = cyclr.keras.LRRangeTestCallback(
        start_lr=0.01, end_lr=0.5, num_steps=12, smooth=0.0, diverge_factor=None
    )
    weights = Weights()
    # 3 batches per epoch: the sweep runs across 4 epochs, with Keras' evaluation between them.
    history = fit(model, 4, finder, weights, validation_data=(X, Y))
    assert len(history.history["val_loss"]) == 4
    result = finder.result
    lrs = LRRangeTest(start_lr=0.01, end_lr=0.5, num_steps=12).lr_at(np.arange(12))
    np.testing.assert_array_equal(result.lrs, lrs)
    losses, trained = hand_sgd(lrs)
    np.testing.assert_allclose(weights.weights, trained, rtol=1e-6)
    np.testing.assert_allclose(result.losses, losses, rtol=1e-6)  # each batch's, also the short last one
    np.testing.assert_array_equal(weights.logged, result.losses)  # the logs show each batch's loss
    # A fixed lr (a constant traced into the step) would give other weights: the lr changed per batch.
    _, fixed = hand_sgd(np.full(12, lrs[0]))
    assert abs(weights.weights[-1] - fixed[-1]) > 0.1
    assert result.reason == "finished" and result.stopped_at == 11


def test_keras_logs_the_epochs_running_mean_without_the_callback():
    """The pitfall the callback avoids: Keras' logged loss is the batch-size-weighted mean of the epoch."""
    weights = Weights()
    fit(one_weight_model(keras.optimizers.SGD(learning_rate=0.1)), 1, weights)
    losses, _ = hand_sgd(np.full(3, 0.1))
    sizes = np.array([len(batch) for batch in BATCHES])
    running = np.cumsum(losses * sizes) / np.cumsum(sizes)
    np.testing.assert_allclose(weights.logged, running, rtol=1e-6)
    assert abs(weights.logged[-1] - losses[-1]) > 0.1 * losses[-1]


def test_the_sweep_stops_fit_when_finished():
    model = one_weight_model()
    finder = cyclr.keras.LRRangeTestCallback(
        start_lr=1e-3, end_lr=0.1, num_steps=7, diverge_factor=None, restore=False
    )
    history = fit(model, 50, finder)
    assert len(history.epoch) == 3  # batches 0-2, 3-5, and 6: then fit stops
    assert int(model.optimizer.iterations) == 7  # restore=False: the trained state is kept ...
    assert float(model.optimizer.learning_rate) == np.float32(0.01)  # ... but the lr is put back
    assert finder.result.reason == "finished" and len(finder.result.lrs) == 7


def test_a_fit_shorter_than_the_sweep_warns_and_is_incomplete():
    finder = cyclr.keras.LRRangeTestCallback(start_lr=1e-3, end_lr=0.1, num_steps=10, diverge_factor=None)
    with pytest.warns(
        UserWarning, match=r"needs num_steps=10 batches, .* 2 epoch\(s\) of 3 batches .* epochs=4"
    ):
        fit(one_weight_model(), 2, finder)
    assert finder.result.reason == "incomplete" and finder.result.stopped_at == 5


def test_diverged():
    model = one_weight_model()
    before = state(model)
    finder = cyclr.keras.LRRangeTestCallback(start_lr=1e-3, end_lr=100.0, num_steps=30, smooth=0.5)
    history = fit(model, 20, finder)
    result = finder.result
    assert result.reason == "diverged" and result.stopped_at < 29
    assert result.lrs[-1] > 1.0 and len(history.epoch) < 10  # past the limit of stability
    assert_bit_identical(state(model), before)


def test_non_finite():
    model = one_weight_model()
    before = state(model)
    finder = cyclr.keras.LRRangeTestCallback(start_lr=1.0, end_lr=1e30, num_steps=40, diverge_factor=None)
    fit(model, 20, finder)
    result = finder.result
    assert result.reason == "non-finite" and not np.isfinite(result.losses[-1])
    assert np.isfinite(result.losses[:-1]).all() and result.stopped_at < 39
    assert_bit_identical(state(model), before)


# -- restoring ---------------------------------------------------------------------------------------------


def mlp(seed: int) -> keras.Model:
    """Weights, normalization statistics, a dropout seed, and Adam's moments: state of every kind."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="mse")
    return model


DATA = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
LABELS = DATA @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32)


def train(model: keras.Model, *callbacks: keras.callbacks.Callback) -> None:
    model.fit(DATA, LABELS, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=list(callbacks))


def test_restore_puts_back_every_variable_bit_for_bit():
    model = mlp(1)
    train(model)  # Adam's step count and moments are not zero any more
    before = state(model)
    lr = float(model.optimizer.learning_rate)

    class Trained(keras.callbacks.Callback):
        """Listed before the range test's callback: sees the state the sweep left, before the restore."""

        def on_train_end(self, logs=None):
            self.state = state(self.model)

    trained = Trained()
    finder = cyclr.keras.LRRangeTestCallback(start_lr=1e-4, end_lr=10.0, num_steps=8)
    train(model, trained, finder)
    paths = [v.path for v in [*model.variables, *model.optimizer.variables]]
    unchanged = [
        path for path, a, b in zip(paths, trained.state, before, strict=True) if a.tobytes() == b.tobytes()
    ]
    # The sweep changed every variable (but the seed state on PyTorch, where dropout draws from torch).
    torch_only = ["seed_generator/seed_generator_state"] if keras.backend.backend() == "torch" else []
    assert unchanged == torch_only
    assert_bit_identical(state(model), before)
    assert float(model.optimizer.learning_rate) == lr


def test_a_restored_model_trains_on_as_if_the_sweep_never_ran():
    """Twins from one seed: one runs the range test between two fits; then both are bit-identical."""
    swept, plain = mlp(2), mlp(2)
    for seed in (10, 11):
        for model in (swept, plain):
            # Keras' dropout on PyTorch draws from torch's global generator: the same one for both.
            keras.utils.set_random_seed(seed)
            train(model)
        if seed == 10:
            cyclr.keras.find_lr(
                swept, DATA, LABELS, batch_size=16, start_lr=1e-4, num_steps=20, shuffle=False
            )
    assert_bit_identical(state(swept), state(plain))


def test_each_fit_runs_a_new_sweep():
    model = mlp(3)
    train(model)  # built: on PyTorch, a model's first fit draws from torch's global generator once more
    finder = cyclr.keras.LRRangeTestCallback(start_lr=1e-4, end_lr=1.0, num_steps=8)
    results = []
    for _ in range(2):
        keras.utils.set_random_seed(3)  # Keras' dropout on PyTorch draws from torch's global generator
        train(model, finder)
        results.append(finder.result)
    first = results[0]
    assert finder.result is not first
    np.testing.assert_array_equal(finder.result.losses, first.losses)  # from the same restored start


def test_an_optimizer_built_by_the_sweeps_fit_is_put_back_as_built():
    """A model's first fit is the sweep: the optimizer it builds (on TensorFlow, inside the first train
    step, after on_train_begin) is put back as built, zero, and the model trains as if it never ran."""
    swept, plain = (one_weight_model(keras.optimizers.Adam(learning_rate=0.01)) for _ in range(2))
    assert not swept.optimizer.built
    cyclr.keras.find_lr(swept, X, Y, batch_size=BATCH, start_lr=1e-4, num_steps=6, shuffle=False)
    assert int(swept.optimizer.iterations) == 0
    moments = [v for v in swept.optimizer.variables if "momentum" in v.path or "velocity" in v.path]
    assert len(moments) == 2 and not any(np.any(keras.ops.convert_to_numpy(v)) for v in moments)
    for model in (swept, plain):
        fit(model, 2)
    assert_bit_identical(state(swept), state(plain))


def test_a_model_without_weights_yet():
    """A model that has not been built (no keras.Input): JAX and PyTorch build it before the callbacks
    run, and it is restored; TensorFlow builds it inside the first train step, when its initial weights
    cannot be saved any more: refused before any batch, saying how to build it."""
    keras.utils.set_random_seed(6)
    model = keras.Sequential([keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
    finder = cyclr.keras.LRRangeTestCallback(start_lr=1e-4, end_lr=1.0, num_steps=6)
    if keras.backend.backend() == "tensorflow":
        with pytest.raises(ValueError, match=r"the model has no weights yet .* model.build\(input_shape\)"):
            train(model, finder)
        assert not model.built
        return
    train(model, finder)
    built = [np.array(keras.ops.convert_to_numpy(v), copy=True) for v in model.variables]
    keras.utils.set_random_seed(6)
    twin = keras.Sequential([keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    twin.build((None, 4))
    assert_bit_identical(built, [keras.ops.convert_to_numpy(v) for v in twin.variables])


def test_find_lr_restores_when_fit_raises():
    model = mlp(4)
    train(model)
    before = state(model)

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as raised:
        cyclr.keras.find_lr(model, DATA, LABELS, batch_size=16, callbacks=[Interrupt()], shuffle=False)
    assert_bit_identical(state(model), before)
    result = raised.value.result  # the points recorded before the interruption are kept
    assert result.reason == "interrupted" and len(result.lrs) >= 2
    assert any("exception's .result" in note for note in raised.value.__notes__)


# -- a real sweep ------------------------------------------------------------------------------------------


def test_the_suggestion_lands_where_the_loss_falls():
    """A 20-32-3 MLP, SGD with momentum, cross-entropy on synthetic three-class data: 100 batches."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((512, 20)).astype(np.float32)
    labels = (inputs[:, 0] > 0).astype(np.int32) + (inputs[:, 1] > 0).astype(np.int32)
    model = keras.Sequential(
        [keras.Input((20,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(3)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    result = cyclr.keras.find_lr(model, inputs, labels, batch_size=32, start_lr=1e-5, end_lr=10.0)
    assert result.reason == "diverged" and len(result.lrs) > 50
    suggestion = result.suggestion
    assert 1e-3 < suggestion.base_lr < suggestion.max_lr < 1.0

    def loss_near(lr: float) -> float:
        return float(np.mean(result.losses[np.abs(np.log(result.lrs / lr)) <= np.log(1.26)]))

    start = float(np.mean(result.losses[:10]))
    assert loss_near(suggestion.base_lr) > 0.8 * start  # the loss has hardly begun to fall
    assert loss_near(suggestion.max_lr) < 0.8 * start  # it has fallen
    assert loss_near(suggestion.minimum.lr) < loss_near(suggestion.base_lr)


def test_result_plot_and_csv(tmp_path):
    pytest.importorskip("matplotlib")
    finder = cyclr.keras.LRFinder(start_lr=1e-3, end_lr=0.1, num_steps=6)
    fit(one_weight_model(), 2, finder)
    finder.result.to_csv(tmp_path / "sweep.csv")
    lrs, losses = cyclr.rangetest.read_sweep(tmp_path / "sweep.csv")
    np.testing.assert_array_equal(losses, finder.result.losses)
    assert finder.result.plot().get_xscale() == "log"


def test_verbose_prints_one_line(capsys):
    finder = cyclr.keras.LRRangeTestCallback(start_lr=1e-3, end_lr=0.1, num_steps=6, verbose=1)
    fit(one_weight_model(), 2, finder)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("LR range test: finished at batch 5 (lr 0.1")
    assert "no suggestion: suggest needs at least 10 finite losses" in out[0]


def test_repr():
    finder = cyclr.keras.LRRangeTestCallback(num_steps=50)
    assert repr(finder).startswith(
        "cyclr.keras.LRRangeTestCallback(start_lr=1e-07, end_lr=10.0, num_steps=50"
    )
    assert cyclr.keras.LRFinder is cyclr.keras.LRRangeTestCallback


# -- errors, one per documented error ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.optimizers.SGD(learning_rate=cyclr.keras.Schedule(cyclr.CyclicLR())),
        lambda: cyclr.keras.SGD(cyclr.CyclicLR()),
        lambda: keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(0.1, 100)),
    ],
    ids=["keras SGD with cyclr Schedule", "cyclr SGD", "keras Adam with CosineDecay"],
)
def test_a_learning_rate_schedule_is_refused(make):
    model = one_weight_model(make())
    with pytest.raises(
        TypeError, match=r"the learning rate of \w+ is a schedule \(.*\), which Keras does not"
    ):
        fit(model, 1, cyclr.keras.LRRangeTestCallback(num_steps=3))
    assert int(model.optimizer.iterations) == 0  # refused before any batch


def test_steps_per_execution():
    model = one_weight_model(steps_per_execution=2)
    if keras.backend.backend() == "torch":  # Keras refuses it itself, when fit starts
        with pytest.raises(ValueError, match="steps_per_execution` must be 1 with the PyTorch backend"):
            fit(model, 1, cyclr.keras.LRRangeTestCallback(num_steps=3))
        return
    with pytest.raises(ValueError, match="compile with steps_per_execution=1 .*, got steps_per_execution=2"):
        fit(model, 1, cyclr.keras.LRRangeTestCallback(num_steps=3))


def test_gradient_accumulation():
    model = one_weight_model(keras.optimizers.SGD(gradient_accumulation_steps=2))
    with pytest.raises(ValueError, match="with gradient_accumulation_steps=2 most batches do not update"):
        fit(model, 1, cyclr.keras.LRRangeTestCallback(num_steps=3))


def test_logs_without_a_loss():
    """A custom train_step that does not report 'loss' (driven by hand here): refused, state put back."""
    model = one_weight_model()
    fit(model, 1)  # builds the optimizer
    before = state(model)
    finder = cyclr.keras.LRRangeTestCallback(num_steps=3)
    finder.set_model(model)
    finder.on_train_begin()
    finder.on_train_batch_begin(0)
    assert float(model.optimizer.learning_rate) == np.float32(1e-7)
    with pytest.raises(ValueError, match=r"the logs of batch 0 have no 'loss' \(their keys: \['mse'\]\)"):
        finder.on_train_batch_end(0, {"mse": 1.0})
    assert_bit_identical(state(model), before)


def test_result_before_fit():
    with pytest.raises(RuntimeError, match="no range test has run yet"):
        _ = cyclr.keras.LRRangeTestCallback().result


def test_sweep_parameters_are_checked_on_construction():
    with pytest.raises(ValueError, match="end_lr must be > start_lr"):
        cyclr.keras.LRRangeTestCallback(start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match=r"smooth must be in \[0, 1\)"):
        cyclr.keras.LRRangeTestCallback(smooth=1.0)
    with pytest.raises(TypeError, match="num_steps must be an integer, got 10.0"):
        cyclr.keras.LRRangeTestCallback(num_steps=10.0)


def test_restore_must_be_a_bool():
    with pytest.raises(TypeError, match="restore must be"):
        cyclr.keras.LRRangeTestCallback(restore="yes")


def test_verbose_must_be_a_non_negative_integer():
    with pytest.raises(ValueError, match="verbose must be an integer >= 0, got -1"):
        cyclr.keras.LRRangeTestCallback(verbose=-1)


def test_find_lr_refuses_epochs():
    with pytest.raises(
        TypeError, match="cyclr.keras.find_lr runs as many epochs as the sweep needs .* epochs=5"
    ):
        cyclr.keras.find_lr(one_weight_model(), X, Y, epochs=5)


def test_find_lr_when_fit_trains_no_batch():
    with pytest.raises(RuntimeError, match="no range test has run yet"):
        cyclr.keras.find_lr(one_weight_model(), X, Y, num_steps=5, initial_epoch=5)
