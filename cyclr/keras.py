"""The Keras 3 adapter: a serializable lr schedule, SGD / Adam whose momentum cycles, the LR range test.

* ``Schedule(spec)``: a ``keras.optimizers.schedules.LearningRateSchedule``, usable as any optimizer's
  ``learning_rate``.
* ``SGD(spec)`` and ``Adam(spec)``: ``keras.optimizers.SGD`` / ``Adam`` that take the learning rate and
  the momentum (SGD) or ``beta_1`` (Adam) from the spec at the optimizer's step, inside the update.
* ``LRRangeTestCallback(...)`` (alias ``LRFinder``) and ``find_lr(model, x, y)``: the LR range test of
  ``cyclr.rangetest`` run by ``model.fit``, the model and its optimizer restored afterwards.

Why optimizers: Keras has no hook to schedule momentum, and the usual workaround, a callback that sets
``optimizer.momentum``, is silently ignored once the train step is compiled (the default on the JAX
and TensorFlow backends): the traced update reads ``momentum`` once, as a constant. Here the momentum
is computed from the step counter inside the update, so it acts in compiled and eager training alike.

Everything runs on ``keras.ops``, on the TensorFlow, JAX and PyTorch backends (all three tested). The
core's single formula is evaluated on Keras tensors: from an int32 step (JAX's and PyTorch's
``optimizer.iterations``) in double-float32 arithmetic (``cyclr._float32``), within 2 float32 ulps of
``spec.lr_at(step)`` at every int32 step; from an int64 step (TensorFlow's) in int64 and float64
(``cyclr._float64``), so that counts past ``2**31`` keep their own values. The schedule
and the optimizers are registered as serializable (``package="cyclr"``), so a model saved to a ``.keras``
file and loaded back keeps its schedule, its optimizer's step and its momentum buffers.

Examples:
    >>> import cyclr, cyclr.keras
    >>> spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000)
    >>> optimizer = cyclr.keras.SGD(spec)  # lr and momentum cycle in model.fit
    >>> print(float(cyclr.keras.Schedule(spec)(1000)))
    0.0035000001080334187
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

# Keras 3 imports its backend when it is imported, and the extra [keras] brings none (README and
# docs/index.md: install the pair "cyclr[keras,jax]" or "cyclr[keras,torch]" and set KERAS_BACKEND).
# Without a usable one, a single ImportError says which extra to add.
try:
    import keras
    from keras import ops
except (ImportError, ValueError) as error:  # ValueError: Keras' own "Unable to import backend : NAME"
    _missing = (getattr(error, "name", None) or "").partition(".")[0]
    _pair = (
        'pip install "cyclr[keras,jax]" and set KERAS_BACKEND=jax '
        '(or "cyclr[keras,torch]", KERAS_BACKEND=torch)'
    )
    if isinstance(error, ValueError):
        _message = f"cyclr.keras: Keras could not load its backend ({error}): {_pair}"
    elif _missing == "keras":  # "cyclr[keras]" alone brings Keras without a backend
        _message = f'cyclr.keras needs Keras 3: pip install "cyclr[keras]" brings it with no backend: {_pair}'
    elif _missing == "jax":
        _message = 'cyclr.keras: KERAS_BACKEND=jax but JAX is not installed: pip install "cyclr[keras,jax]"'
    elif _missing == "torch":
        _message = (
            'cyclr.keras: KERAS_BACKEND=torch but PyTorch is not installed: pip install "cyclr[keras,torch]" '
            "(on a CPU-only machine install PyTorch's CPU build first)"
        )
    elif _missing == "tensorflow":
        _message = (
            "cyclr.keras: Keras 3 runs on TensorFlow unless the KERAS_BACKEND environment variable names "
            "another backend, and TensorFlow is not installed: set KERAS_BACKEND=jax or KERAS_BACKEND=torch "
            '(pip install "cyclr[keras,jax]" or "cyclr[keras,torch]"), or install tensorflow'
        )
    else:
        _message = f"cyclr.keras could not import Keras 3 ({error}): {_pair}"
    raise ImportError(_message) from error

from . import _adapter
from ._float32 import Tensors, check_int32_counts, evaluate, float32_ops
from ._float64 import evaluate64, float64_ops
from ._spec import Spec, from_dict
from ._validate import check_bool, check_int
from .rangetest import LRRangeTest, RangeTestRecorder, RangeTestResult

__all__ = ["Schedule", "SGD", "Adam", "LRRangeTestCallback", "LRFinder", "find_lr"]


def _opaque() -> Any:
    """XLA (the JAX backend) rewrites float sums with constants; an optimization barrier prevents it."""
    if keras.backend.backend() == "jax":
        from jax import lax

        return lax.optimization_barrier
    return lambda x: x


TENSORS = Tensors(
    name="Keras",
    float32=lambda x: ops.cast(x, "float32"),
    int32=lambda x: ops.cast(x, "int32"),
    where=ops.where,
    floor=ops.floor,
    bits=lambda x: ops.view(x, "int32"),
    from_bits=lambda x: ops.view(x, "float32"),
    bitwise_and=ops.bitwise_and,
    log=ops.log,
    opaque=_opaque(),
)
"""``keras.ops`` as float32/int32 tensor functions, for ``cyclr._float32``."""
FLOAT32 = float32_ops(TENSORS)
"""Exact int32 steps and double-float32 values on Keras tensors: the traced path for int32 steps."""
FLOAT64 = float64_ops(ops, "Keras")
"""int64 steps and float64 values on Keras tensors: the traced path for int64 steps (TensorFlow's
``optimizer.iterations``), exact past ``2**31`` (see ``cyclr._float64``)."""


def _traced(value: Any) -> bool:
    """Whether ``value`` is a placeholder in a computation being compiled (not a number yet)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return isinstance(value, jax.core.Tracer)
    if backend == "torch":
        import torch

        return bool(torch.compiler.is_compiling())
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.executing_eagerly()
    return True


Formulas = tuple[Any, Any]
"""A spec's formula for one quantity on the int32 (``FLOAT32``) and the int64 (``FLOAT64``) path."""


def _formulas(caller: str, spec: Spec, quantity: str) -> Formulas:
    return (
        _adapter.formula(caller, spec, FLOAT32, quantity),
        _adapter.formula(caller, spec, FLOAT64, quantity),
    )


def _at(spec: Spec, quantity: str, formula: Formulas, group: int | None, step: Any) -> Any:
    """The spec's ``quantity`` at ``step`` (an int, integer tensor or Variable), a float32 tensor.

    While the step is traced (a compiled train step) the formula runs on Keras tensors; in eager
    execution (the PyTorch backend's default) the core computes the value from the step's number, which
    costs a few microseconds instead of a few hundred tensor operations.
    """
    value = step.value if isinstance(step, keras.Variable) else step
    if not isinstance(value, int) and _traced(value):
        wide = keras.backend.standardize_dtype(value.dtype) in ("int64", "uint32", "uint64")
        steps = ops.cast(value, "int64" if wide else "int32")
        if spec.groups is not None:
            steps = ops.expand_dims(steps, -1)
        if wide:  # TensorFlow's int64 step counter: int32 would wrap past 2**31 - 1
            result = evaluate64(ops, "Keras", formula[1], steps)
        else:
            result = evaluate(TENSORS, formula[0], steps)
        return result if group is None else result[..., group]
    # int() of a scalar tensor reads it without a NumPy round trip (which warns for torch tensors).
    steps = ops.convert_to_numpy(value) if getattr(value, "shape", ()) else int(value)
    exact = spec.lr_at(steps) if quantity == "lr" else spec.momentum_at(steps)
    if group is not None:
        exact = np.asarray(exact)[..., group]
    return ops.convert_to_tensor(np.asarray(exact, dtype=np.float32))


_ONE_VALUE = "a Keras optimizer applies one value to all its variables"


@keras.saving.register_keras_serializable(package="cyclr")
class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """A cyclr spec's learning rate as a Keras ``LearningRateSchedule``: ``step -> spec.lr_at(step)``.

    Keras calls it with the optimizer's step counter (``optimizer.iterations``: int32 on JAX and PyTorch,
    int64 on TensorFlow), inside the compiled train step. Written with ``keras.ops`` only; the value is
    float32, within 2 float32 ulps of ``spec.lr_at(step)`` for every int32 step (< 2**31), and within 1
    for an int64 step (computed in float64: TensorFlow's counter past 2**31 keeps its own values).
    ``get_config`` holds ``spec.to_dict()``; the class is registered, so saved models load with their
    schedule.

    Args:
        spec: a cyclr spec, such as ``cyclr.CyclicLR(...)``. A custom ``scale_fn`` gets an int32 tensor
            and must use ``keras.ops``; it cannot be saved (``get_config`` raises ValueError).
        group: with a grouped spec (list-valued parameters), which group's values to take; None for a
            spec without groups.

    Raises:
        TypeError: ``spec`` is not a cyclr spec, or ``group`` is not an integer.
        ValueError: a grouped spec without ``group``; ``group`` out of range or given without groups;
            a spec whose integer arithmetic overflows int32 before step ``2**31`` (SGDR with
            ``T_mult > T_0``: the compiled step holds the count in int32; see docs/limits.md).

    Examples:
        >>> import keras, cyclr, cyclr.keras
        >>> schedule = cyclr.keras.Schedule(cyclr.CyclicLR(base_lr=0.1, max_lr=1.0, step_size_up=4))
        >>> optimizer = keras.optimizers.Adam(learning_rate=schedule)
        >>> print(keras.ops.convert_to_numpy(schedule(keras.ops.arange(5))))
        [0.1   0.325 0.55  0.775 1.   ]
    """

    def __init__(self, spec: Spec, group: int | None = None) -> None:
        self.spec = _adapter.check_spec("cyclr.keras.Schedule", spec)
        check_int32_counts("cyclr.keras.Schedule", "Keras", self.spec)
        self.group = _adapter.check_group(self.spec, group, applies_to=_ONE_VALUE)
        self._formula = _formulas("cyclr.keras.Schedule", self.spec, "lr")

    def __call__(self, step: Any) -> Any:
        """The learning rate at ``step`` (an integer tensor, Variable or int), a float32 tensor."""
        return _at(self.spec, "lr", self._formula, self.group, step)

    def get_config(self) -> dict[str, Any]:
        """``{"spec": spec.to_dict(), "group": group}``; ValueError for a spec with a custom scale_fn."""
        return {"spec": self.spec.to_dict(), "group": self.group}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Schedule:
        return cls(from_dict(config["spec"]), group=config.get("group"))

    def __repr__(self) -> str:
        group = "" if self.group is None else f", group={self.group}"
        return f"cyclr.keras.Schedule({self.spec!r}{group})"


class _SpecOptimizer:
    """What SGD and Adam share: the spec, the learning-rate schedule, and the momentum at the step.

    ``_momentum_name`` is the Keras attribute that the spec's momentum replaces ("momentum", "beta_1").
    While the spec schedules momentum that attribute is None: there is no fixed value to read or set.
    """

    _momentum_name: str

    def _arguments(self, spec: Spec, group: int | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments for Keras' constructor; the checks run before it does."""
        caller = f"cyclr.keras.{type(self).__name__}"
        spec = _adapter.check_spec(caller, spec)
        if "learning_rate" in kwargs:
            raise TypeError(
                f"{caller} takes its learning rate from the spec; "
                f"got learning_rate={kwargs['learning_rate']!r}"
            )
        if spec.has_momentum and self._momentum_name in kwargs:
            raise TypeError(
                f"{caller}: {self._momentum_name}={kwargs[self._momentum_name]!r} conflicts with the spec, "
                f"which schedules it; for a fixed {self._momentum_name} pass a spec that does not (for "
                f"CyclicLR, cycle_momentum=False)"
            )
        return {"learning_rate": Schedule(spec, group=group), **kwargs}

    def _attach(self) -> None:
        """After Keras' constructor: the spec's momentum formula replaces the fixed attribute."""
        schedule: Schedule = self._learning_rate  # type: ignore[attr-defined]
        self._spec_parts = (schedule.spec, schedule.group)
        caller = f"cyclr.keras.{type(self).__name__}"
        spec = schedule.spec
        self._momentum_formula = _formulas(caller, spec, "momentum") if spec.has_momentum else None
        if self._momentum_formula is not None:
            setattr(self, self._momentum_name, None)
        self._step_momentum = None

    @property
    def spec(self) -> Spec:
        """The cyclr spec the learning rate and momentum come from."""
        return self._spec_parts[0]

    @property
    def group(self) -> int | None:
        """The spec's parameter group this optimizer takes, or None."""
        return self._spec_parts[1]

    @property
    def current_momentum(self) -> Any:
        """The momentum (SGD) or beta_1 (Adam) of the next update: the spec's at the optimizer's step.

        A float32 tensor; the fixed value when the spec does not schedule momentum.
        """
        if self._momentum_formula is None:
            return ops.cast(getattr(self, self._momentum_name), "float32")
        step = self._iterations  # type: ignore[attr-defined]
        return _at(self.spec, "momentum", self._momentum_formula, self.group, step)

    def apply(self, grads: Any, trainable_variables: Any = None) -> Any:
        """Keras' ``apply``; the scheduled momentum is computed once per step, not once per variable."""
        self._step_momentum = None
        try:
            return super().apply(grads, trainable_variables)  # type: ignore[misc]
        finally:
            self._step_momentum = None

    def _momentum_for(self, variable: Any) -> Any:
        # The learning-rate schedule gets ``_iterations`` from Keras (the raw counter, also under
        # gradient accumulation): the momentum takes the same step.
        if self._step_momentum is None:
            self._step_momentum = self.current_momentum
        return ops.cast(self._step_momentum, variable.dtype)

    def get_config(self) -> dict[str, Any]:
        """Keras' config with ``spec`` (``spec.to_dict()``) and ``group`` instead of the lr and the
        scheduled momentum (SGD) or beta_1 (Adam)."""
        config = super().get_config()  # type: ignore[misc]
        del config["learning_rate"]
        if self._momentum_formula is not None:
            del config[self._momentum_name]
        return {**config, "spec": self.spec.to_dict(), "group": self.group}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        config = dict(config)
        return cls(from_dict(config.pop("spec")), **config)  # type: ignore[call-arg]  # the subclasses' own


@keras.saving.register_keras_serializable(package="cyclr")
class SGD(_SpecOptimizer, keras.optimizers.SGD):
    """``keras.optimizers.SGD`` with the learning rate and the momentum of a cyclr spec, at every step.

    Keras' update, with ``lr`` and ``momentum`` the spec's at the optimizer's step ``t``
    (``spec.lr_at(t)``, ``spec.momentum_at(t)``)::

        velocity = momentum * velocity - lr * gradient
        w = w + velocity                                        (nesterov=False)
        w = w + momentum * velocity - lr * gradient             (nesterov=True)

    The momentum is computed inside the update, so it acts in compiled training (``jit_compile``) as in
    eager training. With a spec that does not schedule momentum (``CyclicLR(cycle_momentum=False)``)
    the lr comes from the spec and ``momentum`` is the fixed keyword (default 0, as Keras).
    Note: Keras' velocity includes the lr; torch's SGD applies the current lr to its buffer instead, so
    the two differ while the lr changes.

    Args:
        spec: a cyclr spec.
        nesterov: Nesterov momentum, as ``keras.optimizers.SGD``.
        group: with a grouped spec, which parameter group's values to take.
        **kwargs: the other arguments of ``keras.optimizers.SGD`` (``weight_decay``, ``clipnorm``,
            ``name``...); ``momentum`` only when the spec does not schedule it; never ``learning_rate``.

    Raises:
        TypeError: ``spec`` is not a cyclr spec; ``learning_rate`` given; ``momentum`` given while the
            spec schedules it.
        ValueError: the group errors of ``Schedule``.

    Examples:
        >>> import cyclr, cyclr.keras
        >>> optimizer = cyclr.keras.SGD(cyclr.CyclicLR(step_size_up=4))
        >>> print(float(optimizer.learning_rate), float(optimizer.current_momentum))
        0.0010000000474974513 0.8999999761581421
    """

    _momentum_name = "momentum"

    def __init__(
        self, spec: Spec, nesterov: bool = False, *, group: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(nesterov=nesterov, **self._arguments(spec, group, kwargs))
        self._attach()

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if self._momentum_formula is None:
            return super().update_step(gradient, variable, learning_rate)
        momentum = self._momentum_for(variable)
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self.momentums[self._get_variable_index(variable)]
        step = ops.multiply(gradient, learning_rate)
        self.assign(velocity, ops.subtract(ops.multiply(velocity, momentum), step))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(velocity, momentum), step))
        else:
            self.assign_add(variable, velocity)
        return None


@keras.saving.register_keras_serializable(package="cyclr")
class Adam(_SpecOptimizer, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with the learning rate and ``beta_1`` of a cyclr spec, at every step.

    Keras' update at step ``t`` (0-based), with ``lr = spec.lr_at(t)`` and ``beta_1 = spec.momentum_at(t)``::

        m = m + (gradient - m) * (1 - beta_1)
        v = v + (gradient**2 - v) * (1 - beta_2)
        w = w - lr * sqrt(1 - beta_2**(t+1)) / (1 - beta_1**(t+1)) * m / (sqrt(v) + epsilon)

    The bias correction uses the current ``beta_1``: ``1 - beta_1**(t+1)``, as torch's Adam does when
    ``CyclicLR`` cycles ``betas[0]`` (and as optax's Adam with an injected ``b1``). The exact
    correction for a varying beta_1 would be ``1 - prod(beta_1(s) for s <= t)``; the two agree to
    within ``beta_1**(t+1)``, which vanishes after the first few dozen steps. Matching torch keeps
    results comparable across frameworks.

    Args:
        spec: a cyclr spec.
        group: with a grouped spec, which parameter group's values to take.
        **kwargs: the other arguments of ``keras.optimizers.Adam`` (``beta_2``, ``epsilon``, ``amsgrad``,
            ``weight_decay``...); ``beta_1`` only when the spec does not schedule momentum.

    Raises:
        TypeError: ``spec`` is not a cyclr spec; ``learning_rate`` given; ``beta_1`` given while the
            spec schedules momentum.
        ValueError: the group errors of ``Schedule``.

    Examples:
        >>> import cyclr, cyclr.keras
        >>> optimizer = cyclr.keras.Adam(cyclr.CyclicLR(base_momentum=0.85, max_momentum=0.95))
        >>> print(float(optimizer.current_momentum))
        0.949999988079071
    """

    _momentum_name = "beta_1"

    def __init__(self, spec: Spec, *, group: int | None = None, **kwargs: Any) -> None:
        super().__init__(**self._arguments(spec, group, kwargs))
        self._attach()

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if self._momentum_formula is None:
            return super().update_step(gradient, variable, learning_rate)
        beta_1 = self._momentum_for(variable)
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        local_step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(beta_1, local_step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), local_step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        if self.amsgrad:
            v_hat = self._velocity_hats[self._get_variable_index(variable)]
            self.assign(v_hat, ops.maximum(v_hat, v))
            v = v_hat
        self.assign_sub(variable, ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon)))
        return None


# -- the LR range test in model.fit ------------------------------------------------------------------------


class LRRangeTestCallback(keras.callbacks.Callback):
    r"""The LR range test during ``model.fit``: sweep the learning rate batch by batch, record, undo.

    Batch ``k`` of the fit trains at the sweep's ``lr(k)`` (``LRRangeTest(start_lr, end_lr, num_steps,
    mode)``; in "exp" mode ``lr(k) = start_lr * (end_lr / start_lr) ** (k / (num_steps - 1))``), and its
    loss goes to a ``RangeTestRecorder``, which smooths it and stops training (``model.stop_training``)
    when all ``num_steps`` batches are done ("finished"), the smoothed loss diverged ("diverged"), or a
    loss is NaN or inf ("non-finite"). The sweep runs on across epochs: give ``fit`` at least
    ``ceil(num_steps / batches_per_epoch)`` epochs (fit stops when the sweep does); if fit ends first,
    the result's reason is "incomplete" (a warning says so when fit starts). Each ``fit`` runs a new
    sweep. When fit ends, ``restore=True`` assigns back every variable of the model (weights,
    normalization statistics, random-seed states) and of the optimizer (moments, step count, learning
    rate) as it was when fit began, bit for bit (an optimizer that fit had to build keeps its variables,
    as built: zero). ``result`` is the ``RangeTestResult``: its ``suggestion``, ``plot()``, ``to_csv()``.

    How it works, in Keras 3:

    * The learning rate is the optimizer's ``Variable``, assigned before each batch. A compiled train
      step (``jax.jit``, ``jit_compile``) reads the variable, so every batch trains at its own rate; on
      JAX the callback's access to ``self.model`` syncs the training state, as Keras' own callbacks do,
      so the assignment reaches the next step.
    * The loss: Keras logs the *running mean* of the loss over the epoch so far (a ``Mean`` weighted by
      batch size), not the batch's. The callback resets the model's metrics before each batch
      (``model.reset_metrics()``), so that the logged mean is over one batch: the batch's loss, to
      within a float32 rounding. During the sweep every logged value (the progress bar, the
      ``History``, other callbacks) is therefore the batch's own, not the epoch's running mean.
    * Only an optimizer built with a float ``learning_rate`` has a learning rate that can be set (Keras
      refuses to set one over a ``LearningRateSchedule``, as its ``LearningRateScheduler`` does): run
      the test with a plain optimizer (``keras.optimizers.SGD(momentum=0.9)``, ``Adam()``), then compile
      with the schedule built from the result (``cyclr.keras.SGD(cyclr.CyclicLR(base_lr, max_lr))``).

    ``result.lrs`` holds the sweep's float64 values; the optimizer trains with them rounded to its
    variable's dtype (float32). If ``fit`` raises (an error, a KeyboardInterrupt), Keras does not call
    ``on_train_end`` and nothing is restored: ``find_lr`` restores in that case too.

    Args:
        start_lr: the first learning rate (> 0).
        end_lr: the last learning rate (> start_lr).
        num_steps: batches in the sweep, both ends included (>= 2).
        mode: "exp" (evenly spaced in log(lr)) or "linear".
        smooth: weight of the past in the recorder's moving average, in [0, 1).
        diverge_factor: the divergence threshold of ``RangeTestRecorder`` (> 1); None stops only at the
            end or at a NaN/inf loss.
        restore: put the model and the optimizer back as they were when fit began. With False they keep
            what the sweep made of them, except the learning rate, which is put back in any case.
        verbose: 0 is silent; 1 prints one line when fit ends: why the sweep stopped, and the suggestion.

    Raises:
        TypeError: a parameter has the wrong type (see ``LRRangeTest``, ``RangeTestRecorder``). When fit
            starts, before any batch: the optimizer's learning rate is a schedule or a callable, not a
            variable.
        ValueError: a parameter breaks its rule (``end_lr <= start_lr``, ``smooth >= 1``, ...). When fit
            starts, before any batch: ``steps_per_execution > 1`` (callbacks run once per several
            batches), or the optimizer has ``gradient_accumulation_steps`` (batches that do not update
            the weights). After a batch: its logs have no "loss" (a custom ``train_step`` that does not
            report it); the model and the optimizer are restored first.

    Examples:
        >>> import numpy as np, keras, cyclr.keras
        >>> keras.utils.set_random_seed(0)
        >>> x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
        >>> finder = cyclr.keras.LRRangeTestCallback(start_lr=1e-4, end_lr=10.0, num_steps=30)
        >>> _ = model.fit(x, 3 * x, batch_size=8, epochs=4, callbacks=[finder], verbose=0)
        >>> finder.result.reason, float(model.optimizer.learning_rate)  # the default lr, put back
        ('diverged', 0.009999999776482582)
    """

    def __init__(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_steps: int = 100,
        mode: str = "exp",
        smooth: float = 0.98,
        diverge_factor: float | None = 4.0,
        restore: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        self.spec = LRRangeTest(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode)
        checked = RangeTestRecorder(self.spec, smooth=smooth, diverge_factor=diverge_factor)  # checks now
        self.smooth = checked.smooth
        self.diverge_factor = checked.diverge_factor
        self.restore = check_bool("restore", restore)
        self.verbose = check_int("verbose", verbose, minimum=0)
        self._recorder: RangeTestRecorder | None = None
        self._result: RangeTestResult | None = None
        self._saved: list[tuple[Any, np.ndarray]] | None = None
        self._lr_before: np.ndarray | None = None

    def __repr__(self) -> str:
        spec = self.spec
        return (
            f"cyclr.keras.LRRangeTestCallback(start_lr={spec.start_lr!r}, end_lr={spec.end_lr!r}, "
            f"num_steps={spec.num_steps!r}, mode={spec.mode!r}, smooth={self.smooth!r}, "
            f"diverge_factor={self.diverge_factor!r}, restore={self.restore!r})"
        )

    @property
    def result(self) -> RangeTestResult:
        """The sweep as a ``RangeTestResult``: after ``fit``, or the sweep so far while it runs.

        Raises:
            RuntimeError: no batch has been recorded yet (fit has not run with this callback).
        """
        if self._result is not None:
            return self._result
        if self._recorder is None or self._recorder.step == 0:
            raise RuntimeError(
                "no range test has run yet: pass the callback to model.fit(..., callbacks=[callback]) first"
            )
        return self._recorder.result()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._recorder, self._result, self._saved = None, None, None
        model = self.model
        optimizer = model.optimizer
        self._check(model, optimizer)
        self._warn_if_too_short()
        if self.restore and not optimizer.built:
            # JAX and PyTorch build the optimizer before the callbacks run; TensorFlow inside the first
            # train step, whose moments would then escape the restore. Built here as Keras builds it.
            optimizer.build(model.trainable_variables)
        self._recorder = RangeTestRecorder(self.spec, smooth=self.smooth, diverge_factor=self.diverge_factor)
        variables = {id(v): v for v in [*model.variables, *optimizer.variables]}.values()
        # Copies, not references: JAX donates the arrays of the training state to the compiled step.
        self._saved = [(v, np.array(ops.convert_to_numpy(v.value), copy=True)) for v in variables]
        self._lr_before = np.array(ops.convert_to_numpy(optimizer.learning_rate.value), copy=True)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._recorder is None or self._recorder.stopped:
            return
        model = self.model  # on JAX, this syncs the training state, so what is set here reaches the step
        model.optimizer.learning_rate = self._recorder.next_lr
        model.reset_metrics()  # the logged loss is then this batch's alone, not the epoch's running mean

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._recorder is None or self._recorder.stopped:
            return
        logs = logs or {}
        if "loss" not in logs:
            self._put_back()
            raise ValueError(
                f"cyclr.keras.LRRangeTestCallback records the loss of each batch from its logs, and the logs "
                f"of batch {batch} have no 'loss' (their keys: {sorted(logs)}); a custom train_step must "
                f"return the loss under 'loss'"
            )
        if self._recorder.record(logs["loss"]):
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._recorder is None:
            return
        self._put_back()
        if self._recorder.step:
            self._result = self._recorder.result()
        if self.verbose:
            print(self._summary())

    def _check(self, model: Any, optimizer: Any) -> None:
        caller = "cyclr.keras.LRRangeTestCallback"
        if self.restore and not model.built:
            raise ValueError(
                f"{caller} puts the model's weights back when fit ends, and the model has no weights yet "
                f"(Keras on TensorFlow creates them inside the first train step, too late to save them): "
                f"build it before fit, with a keras.Input layer, model.build(input_shape), or by calling "
                f"it on a batch (or pass restore=False)"
            )
        if model.steps_per_execution != 1:
            raise ValueError(
                f"{caller} sets the learning rate before each batch, and Keras calls callbacks once per "
                f"steps_per_execution batches: compile with steps_per_execution=1 for the range test, got "
                f"steps_per_execution={model.steps_per_execution!r}"
            )
        accumulation = getattr(optimizer, "gradient_accumulation_steps", None)
        if accumulation:
            raise ValueError(
                f"{caller} takes one optimizer update per batch, and with gradient_accumulation_steps="
                f"{accumulation!r} most batches do not update the weights: run the range test with an "
                f"optimizer without it (and the batch size you mean to train with)"
            )
        if not isinstance(optimizer.learning_rate, keras.Variable):
            inner = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer's own
            schedule = getattr(inner, "_learning_rate", None)
            raise TypeError(
                f"{caller} sets the learning rate before each batch, and the learning rate of "
                f"{type(optimizer).__name__} is a schedule ({schedule!r}), which Keras does not let one set: "
                f"compile with a float learning_rate for the range test (such as "
                f"keras.optimizers.SGD(momentum=0.9)), then with the schedule the result suggests"
            )

    def _warn_if_too_short(self) -> None:
        params = self.params or {}
        epochs, steps = params.get("epochs"), params.get("steps")
        needed = self.spec.num_steps
        if epochs and steps and epochs * steps < needed:
            warnings.warn(
                f"the range test needs num_steps={needed} batches, but fit runs {epochs} epoch(s) of {steps} "
                f"batches ({epochs * steps}): the result will be 'incomplete'; pass "
                f"epochs={math.ceil(needed / steps)} or more (fit stops when the sweep does)",
                stacklevel=2,
            )

    def _put_back(self) -> None:
        """Assign the saved variables back (or, with ``restore=False``, only the learning rate); once."""
        if self._saved is None:
            return
        model = self.model  # on JAX, syncs first: the saved values then replace the trained ones
        if self.restore:
            for variable, value in self._saved:
                variable.assign(value)
        else:
            model.optimizer.learning_rate = self._lr_before
        self._saved = None

    def _summary(self) -> str:
        if self._result is None:
            return "LR range test: no batch was trained"
        result = self._result
        line = (
            f"LR range test: {result.reason} at batch {result.stopped_at} (lr {result.lrs[-1]:.3g}, "
            f"loss {result.losses[-1]:.4g})"
        )
        try:
            suggestion = result.suggestion
        except ValueError as error:
            return f"{line}; no suggestion: {error}"
        return f"{line}; suggested base_lr {suggestion.base_lr:.3g}, max_lr {suggestion.max_lr:.3g}"


LRFinder = LRRangeTestCallback
"""A short name for ``LRRangeTestCallback`` (the name of the Keras LR-finder callbacks users know)."""


def find_lr(
    model: keras.Model,
    x: Any = None,
    y: Any = None,
    *,
    batch_size: int | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smooth: float = 0.98,
    diverge_factor: float | None = 4.0,
    verbose: int = 0,
    **fit_kwargs: Any,
) -> RangeTestResult:
    """Run the LR range test on a compiled Keras model and put the model back: one call.

    ``model.fit(x, y, batch_size=..., epochs=num_steps, callbacks=[LRRangeTestCallback(...)])``: every
    epoch has at least one batch, so ``num_steps`` epochs are always enough, and the callback stops fit
    when the sweep ends. The model's and the optimizer's variables are restored afterwards, also when
    fit raises (a KeyboardInterrupt included); the exception is raised on unchanged, with the points
    recorded so far as ``error.result`` (a ``RangeTestResult``, reason "interrupted"), as
    ``cyclr.find_lr`` does.

    Args:
        model: a compiled model whose optimizer has a float learning rate.
        x: the inputs, as for ``model.fit`` (arrays, a dataset, a generator...).
        y: the targets, as for ``model.fit``.
        batch_size: as for ``model.fit`` (None: Keras' 32, or the dataset's batches).
        start_lr: the first learning rate (> 0).
        end_lr: the last learning rate (> start_lr).
        num_steps: batches in the sweep, both ends included (>= 2).
        mode: "exp" (evenly spaced in log(lr)) or "linear".
        smooth: weight of the past in the moving average of the stop rule, in [0, 1).
        diverge_factor: the divergence threshold (> 1); None runs to the end or to a NaN/inf loss.
        verbose: passed to ``model.fit`` (its progress bar) and to the callback (a summary line).
        **fit_kwargs: other arguments of ``model.fit`` (``shuffle``, ``sample_weight``, ``callbacks``,
            ``steps_per_epoch``...); not ``epochs``.

    Returns:
        The ``RangeTestResult``: ``suggestion``, ``plot()``, ``to_csv()``...

    Raises:
        TypeError: ``epochs`` given; the errors of ``LRRangeTestCallback``.
        ValueError: the errors of ``LRRangeTestCallback``.
        RuntimeError: fit trained no batch (an ``initial_epoch`` of ``num_steps`` or more, say).

    Examples:
        >>> import numpy as np, keras, cyclr.keras
        >>> keras.utils.set_random_seed(0)
        >>> x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
        >>> result = cyclr.keras.find_lr(model, x, 3 * x, batch_size=8, start_lr=1e-4, num_steps=30)
        >>> result.reason, int(model.optimizer.iterations)  # the model is as it was
        ('diverged', 0)
    """
    if "epochs" in fit_kwargs:
        raise TypeError(
            f"cyclr.keras.find_lr runs as many epochs as the sweep needs and stops with it; got "
            f"epochs={fit_kwargs['epochs']!r} (pass num_steps for the sweep's length)"
        )
    finder = LRRangeTestCallback(
        start_lr=start_lr,
        end_lr=end_lr,
        num_steps=num_steps,
        mode=mode,
        smooth=smooth,
        diverge_factor=diverge_factor,
        restore=True,
        verbose=verbose,
    )
    callbacks = [*(fit_kwargs.pop("callbacks", None) or ()), finder]
    try:
        model.fit(
            x, y, batch_size=batch_size, epochs=num_steps, verbose=verbose, callbacks=callbacks, **fit_kwargs
        )
    except BaseException as error:  # raised on, unchanged, with the points recorded so far attached
        if finder._recorder is not None:
            finder._recorder.attach_result(error, caller="cyclr.keras.find_lr")
        raise
    finally:
        finder._put_back()  # after on_train_end, nothing is left to do
    return finder.result
