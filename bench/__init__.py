"""bpcli's benchmark runner: the same graphs through bpcli, PyTorch, micrograd and SymPy.

Run it with `python -m bench` (see `python -m bench --help`); it writes
docs/benchmarks.md and docs/benchmarks.svg.
"""
