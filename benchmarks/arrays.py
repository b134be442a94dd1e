"""lr_at on array-API arrays: 10M steps as a torch CPU tensor and as a dask array, against NumPy.

The peers, from the same run and interleaved with ours (medians of pairs): ``precompute`` of the same
10M steps (which fills from one computed cycle), and ``lr_at`` of a NumPy array (the same formula
evaluated at every step, as the array paths do).
"""

from __future__ import annotations

from functools import partial

import numpy as np

import cyclr

from ._timing import Row, paired_medians

NUM_STEPS = 10_000_000
CHUNK = 1_000_000


def rows() -> list[Row]:
    import dask
    import dask.array as da
    import torch

    result = []
    numpy_steps = np.arange(NUM_STEPS, dtype=np.int64)
    torch_steps = torch.arange(NUM_STEPS)
    dask_steps = da.arange(NUM_STEPS, chunks=CHUNK)
    for label, spec in (
        ("triangular", cyclr.CyclicLR(cycle_momentum=False)),
        ("exp_range", cyclr.CyclicLR(mode="exp_range", gamma=0.99994, cycle_momentum=False)),
    ):
        precompute = partial(spec.precompute, NUM_STEPS)
        numpy_lr_at = partial(spec.lr_at, numpy_steps)
        ours_torch = partial(spec.lr_at, torch_steps)
        with dask.config.set(scheduler="threads"):
            ours_dask = partial(lambda spec: spec.lr_at(dask_steps).compute(), spec)
            for what, ours in (
                ("torch CPU tensor", ours_torch),
                (f"dask array ({CHUNK:,} a chunk)", ours_dask),
            ):
                for peer_name, peer in (
                    ("numpy precompute(10M)", precompute),
                    ("numpy lr_at(arange(10M))", numpy_lr_at),
                ):
                    mine, theirs, noise = paired_medians(ours, peer, pairs=7)
                    result.append(
                        Row(
                            f"lr_at 10M, {label}, {what} (median of 7; ratio noise ±{noise:.0%})",
                            mine,
                            peer_name,
                            theirs,
                        )
                    )
    return result
