"""The PyTorch adapter: torch ``LRScheduler``\\ s that set an optimizer's lr and momentum from cyclr specs.

Schedulers that subclass ``torch.optim.lr_scheduler.LRScheduler`` (so Lightning, Accelerate and the
transformers Trainer accept them):

* ``Scheduler(optimizer, spec)`` (``_scheduler.py``) drives any cyclr spec: after ``k`` calls of
  ``step()`` every parameter group holds ``spec(k)``: its lr, and its momentum (SGD's ``momentum``, or
  Adam's ``betas[0]``).
* Drop-ins for torch's schedulers of the same names, with torch's signatures, attributes and state_dict
  keys, each a ``Scheduler`` over the cyclr spec of the same name: ``CyclicLR`` (``_cyclic.py``),
  ``OneCycleLR`` (``_onecycle.py``), ``CosineAnnealingWarmRestarts`` and ``CosineAnnealingLR``
  (``_cosine.py``).
* ``get_scheduler`` and ``get_spec`` (``_get_scheduler.py``): transformers' ``get_scheduler`` (names,
  signature, errors, values) as a ``Scheduler`` over a public cyclr spec.
* ``find_lr`` (``_find_lr.py``): the LR range test on a torch model, its state restored afterwards.

The schedulers hold the step (``last_epoch``) and the state torch's classes keep; the values come from
the core's specs. Values are written the way torch writes them: a float replaces a float, a tensor
(``lr=torch.tensor(0.01)``, the way to keep a compiled ``optimizer.step`` from recompiling) is filled in
place. A non-finite lr or momentum is never written: the step raises a ValueError naming it.

Importing ``cyclr.torch`` allows ``cyclr.from_dict`` in ``torch.load(weights_only=True)``
(``torch.serialization.add_safe_globals``): pickled specs load from checkpoints.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401 (the docstring examples use it)
    from torch.optim.lr_scheduler import LRScheduler  # noqa: F401 (a broken install fails here)
except ImportError as error:  # torch missing, or installed but broken: say which, and how to install it
    raise ImportError(
        f"cyclr.torch needs PyTorch, which could not be imported ({error}); install it with: "
        f'pip install "cyclr[torch]"',
        name="torch",
    ) from error

from .._spec import from_dict
from ._cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from ._cyclic import CyclicLR
from ._find_lr import find_lr
from ._get_scheduler import get_scheduler, get_spec
from ._onecycle import OneCycleLR
from ._scheduler import Scheduler

# A pickled spec is rebuilt by cyclr.from_dict from plain data (validated like the constructor), so a
# checkpoint holding one (Lightning's save_hyperparameters, torch.save of a spec) loads under
# torch.load(weights_only=True), torch's default, once cyclr.torch is imported. See docs/torch.md.
# Registered under the name pickle writes, as (function, name): torch's safe_globals([...]) context
# manager removes the entries it lists on exit, even ones allowed before, and a user's
# `with safe_globals([cyclr.from_dict])` must not take this one away.
torch.serialization.add_safe_globals([(from_dict, f"{from_dict.__module__}.{from_dict.__qualname__}")])

__all__ = [
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
    "Scheduler",
    "find_lr",
    "get_scheduler",
    "get_spec",
]
