"""The cycle collector is paused while a view makes its many small objects, and back on
afterwards however the view ends (process.collector_paused, process.paused)."""

from __future__ import annotations

import gc
import io

import pytest

import bpcli
from bpcli.process import collector_paused, console, paused
from bpcli.render.tree import to_tree


@pytest.fixture(autouse=True)
def _collecting():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_back_on_after_a_pause_and_after_an_error():
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0
    assert gc.isenabled()


def test_what_a_pause_made_is_not_traced_by_the_next_young_collection():
    gc.collect()
    with collector_paused():
        kept = [[i] for i in range(20_000)]  # a view's lines, still held afterwards
        cycle: list[object] = []
        cycle.append(cycle)  # garbage in a cycle, made meanwhile
        del cycle
    young, threshold = gc.get_count()[0], gc.get_threshold()[0]
    assert young < threshold  # else the next allocation traces all 20,000 of them
    assert all(gc.is_tracked(line) for line in kept[:10])
    assert gc.collect() >= 1  # the cycle is still found, by a full collection


def test_a_pause_leaves_the_programs_own_frozen_objects_frozen():
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            made = [[i] for i in range(1_000)]
        assert gc.get_freeze_count() == frozen and made
    finally:
        gc.unfreeze()


def test_a_pause_leaves_a_collector_that_was_off_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_paused_items_are_made_with_the_collector_off_and_it_is_on_once_they_end():
    seen = []

    def items():
        for k in range(3):
            seen.append(gc.isenabled())
            yield k

    assert list(paused(items())) == [0, 1, 2]
    assert seen == [False, False, False] and gc.isenabled()


def test_the_collector_is_on_again_when_the_caller_stops_early():
    taken = paused(iter(range(10)))
    assert next(taken) == 0 and not gc.isenabled()
    taken.close()  # as when Rich's print fails part way, or a generator is dropped
    assert gc.isenabled()


def test_the_collector_is_off_while_every_tree_is_drawn_and_on_afterwards():
    # 50 uses of x at 60 columns: the tree goes deep, and on in trees of their own below
    result = bpcli.grad(" + ".join(["x"] * 50), {"x": 1.0})
    out = console(file=io.StringIO(), width=60, color_system=None)
    seen = [gc.isenabled() for _ in out.render(to_tree(result.graph, result))]
    assert len(seen) > 100 and not any(seen)
    assert gc.isenabled()


def test_every_view_is_made_with_the_collector_paused():
    # every call into bpcli's render package while a view is made, watched from inside
    import sys
    from pathlib import Path

    from bpcli.render import dot, explain, mermaid, page, table, writeup

    render = str(Path(dot.__file__).parent)
    result = bpcli.grad("(x+y)*z", {"x": -2.0, "y": 5.0, "z": -4.0}, lr=0.1)
    grad_view, explain_view = table.GradView(result), explain.ExplainView(result)
    tree_view = to_tree(result.graph, result)
    views = {
        "dot": lambda: dot.to_dot(result.graph, result),
        "mermaid": lambda: mermaid.to_mermaid(result.graph, result),
        "page": lambda: page.to_html(result),
        "markdown": lambda: writeup.to_markdown(result),
        "latex": lambda: writeup.to_latex(result),
        "table": lambda: list(console(file=io.StringIO()).render(grad_view)),
        "explain": lambda: list(console(file=io.StringIO()).render(explain_view)),
        "tree": lambda: list(console(file=io.StringIO()).render(tree_view)),
    }
    for name, view in views.items():
        seen: list[bool] = []

        def watch(frame, event, _arg, seen=seen):
            if event == "call" and frame.f_code.co_filename.startswith(render):
                seen.append(gc.isenabled())

        sys.setprofile(watch)
        try:
            view()
        finally:
            sys.setprofile(None)
        assert len(seen) > 10 and not any(seen), (name, seen.count(True), len(seen))
        assert gc.isenabled(), name
