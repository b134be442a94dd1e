"""``python -m cyclr``: print a schedule (the full command line arrives with ``cyclr.cli``)."""

from __future__ import annotations

import argparse

from .cyclic import MODES, CyclicLR


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cyclr", description="Print a CyclicLR schedule.")
    parser.add_argument("--base-lr", type=float, default=1e-3)
    parser.add_argument("--max-lr", type=float, default=6e-3)
    parser.add_argument("--step-size-up", type=int, default=2000)
    parser.add_argument("--mode", choices=MODES, default="triangular")
    parser.add_argument("--every", type=int, default=500, help="print every N-th step")
    parser.add_argument("--num-steps", type=int, default=8001)
    args = parser.parse_args(argv)
    try:
        spec = CyclicLR(base_lr=args.base_lr, max_lr=args.max_lr, step_size_up=args.step_size_up, mode=args.mode)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    print(f"{'step':>8}  {'lr':>12}  {'momentum':>9}")
    for step in range(0, args.num_steps, args.every):
        lr, momentum = spec(step)
        print(f"{step:>8}  {lr:>12.6g}  {momentum:>9.4f}")


if __name__ == "__main__":
    main()
