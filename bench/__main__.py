"""`python -m bench`: run the benchmarks, print the targets, write the report.

Without options it is the full run docs/benchmarks.md (and its chart) is written by:
every engine, shape and size, the command line and every view's growth.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from . import growth, report, streams
from .engines import ENGINES
from .graphs import SHAPES
from .runner import ROOT, Settings, run
from .worker import MAX_RUNS

DEFAULT_ENGINES = ("bpcli", "torch", "micrograd", "sympy", "python")
QUICK_SIZES = (100, 1_000)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(float(part)) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are numbers such as 1e3,1e4: {text!r}") from None
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("each size is at least 10 nodes")
    return sorted(set(sizes))


def _names(allowed: tuple[str, ...] | list[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or 'nothing'}; choose from {', '.join(allowed)}"
            )
        return names

    return parse


def _per_engine(text: str) -> dict[str, float]:
    """`sympy=30,micrograd=60` as {engine: number}."""
    found = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        engine, _, value = part.partition("=")
        if engine not in ENGINES or not value:
            raise argparse.ArgumentTypeError(f"expected ENGINE=NUMBER, got {part!r}")
        found[engine] = float(value)
    return found


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time the same graphs through bpcli, PyTorch, micrograd and SymPy, check "
        "that their gradients agree, and write docs/benchmarks.md with its chart.",
    )
    p.add_argument("--sizes", type=_sizes, help="nodes per graph (default 1e3,1e4,1e5,1e6)")
    p.add_argument("--engines", type=_names(list(ENGINES)), default=list(DEFAULT_ENGINES))
    p.add_argument("--shapes", type=_names(SHAPES), default=list(SHAPES))
    p.add_argument("--repeat", type=int, help="runs per job, the median is shown (default 3)")
    p.add_argument(
        "--least-seconds",
        type=float,
        help="a quicker job runs more times, until it has taken this long, up to "
        f"{MAX_RUNS} runs, so that its median stands above the noise (default 0.5; quick 0)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and few repeats: a smoke test for CI (sizes 1e2,1e3)",
    )
    p.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--timeout", type=float, help="seconds per job (default 120)")
    p.add_argument(
        "--timeouts", type=_per_engine, default={}, help="per engine, e.g. sympy=45 (the default)"
    )
    p.add_argument(
        "--max-nodes",
        type=_per_engine,
        default={},
        help="skip an engine above this many nodes, e.g. sympy=1e3 (the default)",
    )
    p.add_argument("--budget", type=float, help="stop repeating a job after this many s (20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-cli", action="store_true", help="no cold start, batch, end to end")
    p.add_argument("--cold-runs", type=int, help="runs of each process for cold start (20)")
    p.add_argument("--batch-lines", type=int, help="lines through bpcli batch (20000)")
    p.add_argument(
        "--e2e-size", type=_sizes, help="nodes of the end-to-end chain (default 1e6; quick 1e3)"
    )
    p.add_argument(
        "--growth-sizes",
        type=_growth_sizes,
        help="nodes (or uses of x in x + x + … + x) where each view's growth is timed; "
        "check and svg have their own (default 1e3,1e4,1e5; quick 1e2,1e3,1e4)",
    )
    p.add_argument("--skip-growth", action="store_true", help="no growth of the views")
    p.add_argument(
        "--views",
        type=_names(list(growth.VIEWS)),
        default=list(growth.VIEWS),
        help=f"the views whose growth is timed (default all: {','.join(growth.VIEWS)})",
    )
    p.add_argument(
        "--growth-timeout",
        type=float,
        help="seconds for one view at one size; a slower size ends its series (40; quick 10)",
    )
    return p


def _growth_sizes(text: str) -> list[int]:
    sizes = _sizes(text)
    try:
        growth.check_sizes(sizes)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return sizes


def settings_from(args: argparse.Namespace, argv: list[str]) -> Settings:
    """The run's settings: what was given, else the defaults (smaller ones with --quick)."""
    quick = bool(args.quick)
    sizes: list[int] = args.sizes or (list(QUICK_SIZES) if quick else [10**3, 10**4, 10**5, 10**6])
    e2e: list[int] = args.e2e_size or ([1_000] if quick else [10**6])
    views: list[int] = args.growth_sizes or list(growth.QUICK_SIZES if quick else growth.SIZES)

    def given(value: float | None, normal: float, fast: float) -> float:
        return value if value is not None else (fast if quick else normal)

    return Settings(
        sizes=sizes,
        engines=args.engines,
        shapes=args.shapes,
        repeat=int(given(args.repeat, 3, 1)),
        budget=given(args.budget, 20.0, 5.0),
        least_seconds=given(args.least_seconds, 0.5, 0.0),
        timeout=given(args.timeout, 120.0, 60.0),
        timeouts={"sympy": 45.0, **args.timeouts},
        max_nodes={"sympy": 1_000, **{k: int(v) for k, v in args.max_nodes.items()}},
        seed=args.seed,
        cli=not args.skip_cli,
        cold_runs=int(given(args.cold_runs, 20, 3)),
        batch_lines=int(given(args.batch_lines, 20_000, 500)),
        e2e_size=e2e[-1],
        command=shlex.join(["python", "-m", "bench", *argv]),
        growth_sizes=[] if args.skip_growth else views,
        growth_timeout=given(args.growth_timeout, growth.TIMEOUT_S, growth.QUICK_TIMEOUT_S),
        quick=quick,
        views=args.views,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    settings = settings_from(args, argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = run(settings, log)
    # Issue 16's stream targets (bench/streams.py), written and printed with the others.
    if settings.cli:
        results.streamed = streams.run(streams.Sizes.of(settings), log)
    chart = report.write(results, args.output)
    print()
    for target in report.targets(results):
        print(target)
    print(f"\nwrote {args.output} and {chart}")
    for line in results.mismatches:
        print(line, file=sys.stderr)
    return 1 if results.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
