r"""The LR range test (Smith 2017, section 3.3): sweep the learning rate up, watch the loss, pick a range.

The package, one module per concern, each usable alone:

* ``sweep``: ``LRRangeTest``, the sweep as a spec, ``start_lr -> end_lr`` in ``num_steps`` steps
  (exponential or linear), with the whole contract of every cyclr schedule.
* ``stop``: the stop rule, a bias-corrected moving average of the loss and its divergence test.
* ``recorder``: ``RangeTestRecorder`` records one loss per step and applies the stop rule; a training
  loop or a framework callback drives it.
* ``runner``: ``find_lr(train_step)``, the loop for any framework; ``train_step(lr) -> loss`` is yours.
* ``suggestion`` (with ``smoothing``): ``suggest(lrs, losses)``, stateless: base_lr and max_lr by the
  paper's rule from any recorded sweep.
* ``result``: ``RangeTestResult``, the arrays, why the sweep stopped, the suggestion; ``csvio`` reads
  and writes a sweep as CSV (``read_sweep``, ``write_sweep``), ``plot`` draws one (``plot_sweep``)
  and saves it (``save_plot``). Writes to a path are atomic (``_files``).

When the training step raises, the exception propagates with the points recorded so far as
``error.result`` (reason "interrupted"; ``RangeTestRecorder.attach_result``).

Examples:
    >>> from cyclr.rangetest import find_lr
    >>> def train_step(lr):  # a loss that falls from lr 3e-4 to 3e-3, then blows up
    ...     return 1 / (1 + (lr / 1e-3) ** 2) + (lr / 0.3) ** 2
    >>> result = find_lr(train_step, progress=False)
    >>> result.reason, f"{result.suggestion.base_lr:.1e}", f"{result.suggestion.max_lr:.1e}"
    ('diverged', '3.2e-04', '3.0e-03')
"""

from __future__ import annotations

from .csvio import read_sweep
from .plot import plot_sweep, save_plot
from .recorder import RangeTestRecorder
from .result import REASONS, RangeTestResult
from .runner import find_lr
from .smoothing import NEIGHBOURS, blow_up_cap, local_quadratic, median_of_three, noise_level
from .suggestion import BANDWIDTH, FALL_MARGIN, MIN_POINTS, NOISE_MARGIN, LRPoint, Suggestion, suggest
from .sweep import MODES, LRRangeTest, range_test_formula

__all__ = [
    "BANDWIDTH",
    "FALL_MARGIN",
    "MIN_POINTS",
    "MODES",
    "NEIGHBOURS",
    "NOISE_MARGIN",
    "REASONS",
    "LRPoint",
    "LRRangeTest",
    "RangeTestRecorder",
    "RangeTestResult",
    "Suggestion",
    "blow_up_cap",
    "find_lr",
    "local_quadratic",
    "median_of_three",
    "noise_level",
    "plot_sweep",
    "range_test_formula",
    "read_sweep",
    "save_plot",
    "suggest",
]
