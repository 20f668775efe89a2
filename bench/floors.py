"""The parser's and the engine's targets against their floors (issue 16, targets 3 and 6).

3. The 10^6-node chain parses in at most 1.5 s (about 1 µs a token, the pure-Python
   floor), and `bpcli grad` from text, end to end, takes at most 0.6 times what
   PyTorch takes to build and backpropagate the same chain from Python code.
6. Forward + backward on a parsed 10^5-node DAG stays at least 15 times faster than
   PyTorch and within 1.3 times the plain-Python flat tape (the `python` engine), on
   the table's DAG and on a DAG of statements that carry literal constants
   (`t_k = tanh(t_i*0.37 + t_j*-1.2)`, graphs.constants), where constant leaves
   must cost the loops next to nothing.

The parse time is the `build` phase of bpcli's row for the chain (its worker times
`bpcli.parse` alone); the constants DAG is not one of the table's shapes, so it is
measured here, by the same workers, at the largest size of the run up to 10^5.
"""

from __future__ import annotations

from collections.abc import Callable

from .report import Target, _at_least, _at_most, _where, seconds
from .runner import Measurement, Results, measured_into, size_label

# Issue 16's numbers for these targets (the older targets keep their own, 1 to 6).
PARSE_TARGET, ENGINE_TARGET = "16.3", "16.6"
PARSE_SIZE = 1_000_000
PARSE_LIMIT_S = 1.5
E2E_SHARE = 0.6  # of PyTorch's build + backward
ENGINE_SIZE = 100_000
ENGINE_SPEEDUP = 15.0
FLOOR_SHARE = 1.3
CONSTANTS = "constants"
PEERS = ("bpcli", "torch", "python")


def measure(results: Results, log: Callable[[str], None]) -> None:
    """The constants DAG through bpcli, PyTorch and the floor, if the run has bpcli."""
    settings = results.settings
    engines = [engine for engine in PEERS if engine in settings.engines]
    below = [size for size in settings.sizes if size <= ENGINE_SIZE]
    if "bpcli" not in engines or not below:
        return
    results.measurements += measured_into(results, CONSTANTS, max(below), log, engines)


def targets(results: Results) -> list[Target]:
    return [
        _parse_target(results),
        _e2e_target(results),
        *(
            _engine_target(results, shape, peer)
            for shape in ("dag", CONSTANTS)
            for peer in ("torch", "python")
        ),
    ]


def _largest(results: Results, engine: str, shape: str, wanted: int) -> Measurement | None:
    rows = [m for m in results.measurements if (m.engine, m.shape) == (engine, shape)]
    up_to = sorted((m for m in rows if m.size <= wanted), key=lambda m: m.size)
    return up_to[-1] if up_to else None


def _parse_target(results: Results) -> Target:
    label = f"parse {size_label(PARSE_SIZE)}-node chain"
    m = _largest(results, "bpcli", "chain", PARSE_SIZE)
    build = m.phase("build") if m is not None and m.reported else None
    if m is None or build is None:
        why = f"bpcli {m.status}: {m.detail}" if m is not None else "no chain in this run"
        return Target(PARSE_TARGET, label, f"NOT MEASURED: {why}")
    text = (
        f"parse: bpcli.parse on the {size_label(m.size)}-node chain {seconds(build)}, "
        f"{1e6 * build / m.nodes:.2f} µs a node (target ≤{PARSE_LIMIT_S:g} s at 10^6)"
        f"{_where(m.size, PARSE_SIZE)}"
    )
    # at another size, the target scales with the nodes
    return Target(PARSE_TARGET, text, _at_most(build, PARSE_LIMIT_S * m.size / PARSE_SIZE))


def _e2e_target(results: Results) -> Target:
    size = results.settings.e2e_size
    label = f"end to end {size_label(size)} chain against PyTorch"
    e2e = results.e2e
    torch = results.find("torch", "chain", size) or results.e2e_torch
    if e2e is None:
        return Target(
            PARSE_TARGET, label, f"NOT MEASURED: {results.e2e_problem or 'not in this run'}"
        )
    if torch is None or not torch.reported or torch.total is None:
        why = f"torch {torch.status}: {torch.detail}" if torch is not None else "no PyTorch time"
        return Target(PARSE_TARGET, label, f"NOT MEASURED: {why}")
    share = e2e.seconds / torch.total
    text = (
        f"{label}: bpcli grad from the text {seconds(e2e.seconds)} vs PyTorch build+backward "
        f"from code {seconds(torch.total)} = {share:.2f}x (target ≤{E2E_SHARE:g}x)"
        f"{_where(size, PARSE_SIZE)}"
    )
    return Target(PARSE_TARGET, text, _at_most(share, E2E_SHARE))


def _engine_target(results: Results, shape: str, peer: str) -> Target:
    name = "DAG of statements with constants" if shape == CONSTANTS else "DAG"
    versus = "PyTorch" if peer == "torch" else "the plain-Python flat tape"
    label = f"engine on {name} vs {versus}"
    mine = _largest(results, "bpcli", shape, ENGINE_SIZE)
    theirs = results.find(peer, shape, mine.size) if mine is not None else None
    if mine is None or theirs is None or not mine.reported or not theirs.reported:
        why = next(
            (f"{m.engine} {m.status}: {m.detail}" for m in (mine, theirs) if m and not m.reported),
            "not in this run",
        )
        return Target(ENGINE_TARGET, label, f"NOT MEASURED: {why}")
    assert mine.compute is not None and theirs.compute is not None
    where = _where(mine.size, ENGINE_SIZE)
    both = f"({seconds(mine.compute)} vs {seconds(theirs.compute)}"
    if peer == "torch":
        speedup = theirs.compute / mine.compute
        text = (
            f"engine {size_label(mine.size)} {name}: bpcli forward+backward {speedup:.1f}x "
            f"faster than PyTorch {both}; target {ENGINE_SPEEDUP:g}x){where}"
        )
        return Target(ENGINE_TARGET, text, _at_least(speedup, ENGINE_SPEEDUP))
    share = mine.compute / theirs.compute
    text = (
        f"engine {size_label(mine.size)} {name}: bpcli forward+backward {share:.2f}x the "
        f"plain-Python flat tape {both}; target ≤{FLOOR_SHARE:g}x){where}"
    )
    return Target(ENGINE_TARGET, text, _at_most(share, FLOOR_SHARE))
