"""Shared test set-up: plain, uncoloured, 80-column output everywhere."""

from __future__ import annotations

import contextlib
import os

# Before typer is imported anywhere: never force colour or a terminal in tests.
os.environ["_TYPER_FORCE_DISABLE_TERMINAL"] = "1"
for _var in ("FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "CLICOLOR_FORCE"):
    os.environ.pop(_var, None)
os.environ["COLUMNS"] = "80"
os.environ["NO_COLOR"] = "1"
# English, whatever the machine's locale says: a test of Korean asks for it (--lang ko).
os.environ["BPCLI_LANG"] = "en"

import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import NoReturn  # noqa: E402

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from bpcli.cli import app  # noqa: E402

# The lecture: f = (x + y) z at x = -2, y = 5, z = -4, worked by hand on its slides.
LECTURE = {"x": -2.0, "y": 5.0, "z": -4.0}


def unavailable(message: str) -> NoReturn:
    """A program a test needs is missing: skip here, fail in CI (.ci/run installs it)."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# ---- integration tests: those that start another program -------------------------------------
# Marked `integration` (registered in pyproject.toml, with --strict-markers), so that
# pytest -m "not integration" runs the core in seconds. The mark is kept true: a test
# without it that starts a process (Graphviz, Node, Chromium, pdflatex, pip, a bpcli or
# Python subprocess) fails.


class StartsAProcess(AssertionError):
    pass


@pytest.fixture(autouse=True, scope="session")
def _matplotlib_s_font_cache():
    """matplotlib lists the system's fonts with fontconfig's fc-list (a process) the first
    time it is used on a machine, and keeps the list: made here, once, before any test,
    so that a core test that draws (--plot) starts no process on a new machine."""
    with contextlib.suppress(ImportError):  # no plot extra: its tests say so
        import matplotlib.font_manager  # noqa: F401 - makes the cache where there is none


@pytest.fixture(autouse=True)
def _only_integration_tests_start_processes(request, monkeypatch, _matplotlib_s_font_cache):
    if request.node.get_closest_marker("integration") is not None:
        return

    def refuse(self, args, *rest, **options):
        raise StartsAProcess(f"{request.node.nodeid} starts {args!r}: mark it integration")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A test that chose Korean in this process (CliRunner, i18n.use) leaves English behind."""
    yield
    from bpcli import i18n

    i18n.use("en")


# ---- recursion: a shallow stack instead of the biggest inputs -----------------------------------

STACK_HEADROOM = 250  # frames a test may use above the fixture's own depth


@pytest.fixture
def shallow_stack():
    """A recursion limit just above the test's own depth, restored after: anything that
    recurses once per level of an input deeper than a few hundred levels raises
    RecursionError, so an input of a few thousand levels shows that nothing does."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + STACK_HEADROOM)
    try:
        yield STACK_HEADROOM
    finally:
        sys.setrecursionlimit(limit)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def bpcli():
    """Run the CLI in-process: bpcli("grad", "x*y", "x=1", "y=2", input=None) -> Run."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Run:
        result = runner.invoke(app, list(args), input=input, prog_name="bpcli")
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def patch_op(monkeypatch):
    """Change an op in the table for one test, with the engine's loops rebuilt to match."""
    import dataclasses

    from bpcli import engine, ops

    def patch(name: str, **changes: object) -> None:
        if "local" in changes:  # a changed rule is what the engine computes: no pullback of the old
            changes.setdefault("vjp", ())
        monkeypatch.setitem(ops.OPS, name, dataclasses.replace(ops.OPS[name], **changes))
        engine.build()

    yield patch
    monkeypatch.undo()
    engine.build()


# ---- hypothesis profiles, for tests/test_differential.py and tests/test_fuzz.py ----
# "fast" (the default) keeps the normal run short and the same on every machine;
# "thorough" explores: pytest --hypothesis-profile=thorough, or
# BPCLI_HYPOTHESIS_PROFILE=thorough pytest.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # only the property tests need hypothesis; they skip without it
    pass
else:
    _SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile(
        "fast",
        max_examples=60,
        derandomize=True,  # the same examples on every run: CI is reproducible, never flaky
        deadline=None,  # SymPy's derivatives take their time
        suppress_health_check=_SLOW_IS_FINE,
        print_blob=True,
    )
    settings.register_profile(
        "thorough",
        max_examples=5_000,
        deadline=None,
        suppress_health_check=_SLOW_IS_FINE,
        print_blob=True,
    )
    settings.load_profile(os.environ.get("BPCLI_HYPOTHESIS_PROFILE", "fast"))
