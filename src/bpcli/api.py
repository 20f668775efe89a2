"""The library API that every command calls: bind values, run the passes, build a Result."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import engine
from .errors import BindError, InputError, clipped
from .graph import Graph
from .i18n import N_, tr, tr_n
from .ops import TENSOR_ONLY, Conventions
from .parser import named_constants, parse
from .result import Result, Update
from .syntax import NAMED_CONSTANTS, composed
from .values import NotANumber, NotATensor, is_array, to_float, to_value

if TYPE_CHECKING:
    from .tensor import TensorResult

Values = Mapping[str, object] | Iterable[tuple[str, object]]

MAX_STEPS = 100_000  # more steps than this is a mistake
MAX_STEP_NODES = 10_000_000  # steps × nodes: about ten seconds of descent
TRAJECTORY_POINTS = 1_001  # steps 0 to 1,000 kept whole; a longer run, a sample of them
TRAJECTORY_VALUES = 100_000  # numbers a trajectory keeps (points × inputs), about 3 MB of JSON


def grad(
    text: str,
    values: Values | None = None,
    lr: float | None = None,
    steps: int | None = None,
    *,
    conventions: Conventions = Conventions(),
    dout: object = None,
    **named: object,
) -> Result | TensorResult:
    """Parse `text`, then evaluate it at `values`: see `evaluate`.

    Values may also be given by keyword, `grad("x*y", x=2, y=3)`, alone or with a
    mapping; an input named like one of grad's own parameters (`text`, `values`,
    `lr`, `steps`, `conventions`, `dout`) goes in the mapping.
    """
    return evaluate(parse(text), values, lr, steps, conventions=conventions, dout=dout, **named)


def evaluate(
    graph: Graph,
    values: Values | None = None,
    lr: float | None = None,
    steps: int | None = None,
    *,
    conventions: Conventions = Conventions(),
    dout: object = None,
    **named: object,
) -> Result | TensorResult:
    """Forward and backward passes at `values`, one value per input variable (by
    mapping, (name, value) pairs or keyword, as `grad` takes them).

    With `lr`, also `steps` steps of gradient descent (one when `steps` is None;
    an explicit `steps` also records the trajectory from step 0).

    A value may be a vector or a matrix (a list, nested lists, a NumPy array): a
    program with one, or with an op for tensors only (`@`, `sum`, an index), or
    given `dout` (the upstream gradient of its output), is run by the tensor engine
    (`bpcli.tensor`) and gives a TensorResult; any other, the scalar engine's Result.
    """
    graph, given = _given_constants(graph, _with_named(values, named))
    inputs = bind(graph, given)
    if steps is not None and lr is None:
        raise InputError(tr("steps needs a learning rate (lr)"))
    if dout is not None or not _scalars(inputs) or needs_tensors(graph):
        from . import tensor

        if dout is not None:
            dout = _value("the upstream gradient (dout)", dout, InputError)
        if lr is not None:
            lr = _number(tr("the learning rate"), lr, InputError)
        return tensor.evaluate(graph, inputs, lr, steps, conventions, dout, MAX_STEPS)
    node_values = engine.forward(graph, inputs)
    grads = engine.backward(graph, node_values, conventions)
    update = None
    if lr is not None:
        update = _update(graph, node_values, grads, lr, steps, conventions)
    return Result(graph, inputs, node_values, grads, conventions, update)


def _with_named(values: Values | None, named: dict[str, object]) -> Values:
    """The values of a mapping or pairs and those given by keyword, as one list of pairs
    (a name in both is given twice, which `bind` says)."""
    if not named:
        return {} if values is None else values
    if values is None:
        return named
    pairs = list(values.items() if isinstance(values, Mapping) else _pairs(values))
    return pairs + list(named.items())


def step_count(steps: object, max_steps: int) -> int:
    """How many steps of gradient descent `steps` asks for (None: one), or an InputError
    for anything but a whole number from 1 to `max_steps`."""
    count = 1 if steps is None else steps
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= max_steps:
        raise InputError(
            tr(
                "the number of steps must be a whole number from 1 to {max_steps:,}, got {count!r}"
            ).format(max_steps=max_steps, count=count)
        )
    return count


def _update(
    graph: Graph,
    values: list[float],
    grads: list[float | None],
    lr: float,
    steps: int | None,
    conventions: Conventions,
) -> Update:
    lr = _number(tr("the learning rate"), lr, InputError)
    count = step_count(steps, MAX_STEPS)
    if count * len(graph) > MAX_STEP_NODES:
        raise InputError(
            tr(
                "{count:,} steps of a {nodes:,}-node graph are more than {max_step_nodes:,} "
                "node-steps, the limit (about ten seconds); take at most {most:,} steps"
            ).format(
                count=count,
                nodes=len(graph),
                max_step_nodes=MAX_STEP_NODES,
                most=MAX_STEP_NODES // len(graph),
            )
        )
    every = trajectory_every(count, len(graph.variables))
    path = engine.descend(graph, values, grads, lr, count, conventions, every)
    last = path[-1]
    trajectory = None if steps is None else tuple(path)
    return Update(lr, count, last.inputs, last.output, trajectory, every)


def trajectory_every(steps: int, inputs: int) -> int:
    """Which steps a trajectory keeps: every k-th (and step 1 and the last), the
    smallest k that keeps it within TRAJECTORY_POINTS points and TRAJECTORY_VALUES
    numbers; 1, all of them, for any run of the lecture's size."""
    points = min(TRAJECTORY_POINTS, TRAJECTORY_VALUES // max(inputs, 1))  # step 0 included
    if steps + 1 <= points:
        return 1
    if points < 4:  # only step 0, step 1 and the last
        return steps
    return -(-steps // (points - 3))  # steps // k + 1 points, and step 1 and the last


def scalar_only(
    result: Result | TensorResult, what: str, verb: str = N_("does not show")
) -> Result:
    """`result`, for a view or command that does not show vectors and matrices yet: a
    tensor program's result is an InputError saying so ("key --solutions does not write
    tensors yet")."""
    if not isinstance(result, Result):
        raise InputError(
            tr("{what} {verb} tensors yet (vectors and matrices)").format(what=what, verb=tr(verb))
        )
    return result


def _scalars(inputs: dict[str, Any]) -> bool:
    return all(type(value) is float for value in inputs.values())


def needs_tensors(graph: Graph) -> bool:
    """Whether the program uses an op for tensors only (they come last in the op table);
    kept with the graph, since a graph may be evaluated many times."""
    known: bool | None = graph.derived.get("tensor ops")
    if known is None:
        known = graph.derived["tensor ops"] = bool(graph.codes) and max(graph.codes) >= TENSOR_ONLY
    return known


def bind(graph: Graph, values: Values) -> dict[str, Any]:
    """Check `values` against the graph's inputs; return them in the graph's order."""
    pairs = values.items() if isinstance(values, Mapping) else _pairs(values)
    given: dict[str, Any] = {}
    for name, value in pairs:
        if not isinstance(name, str):
            raise BindError(tr("a name must be text, got {name}").format(name=clipped(repr(name))))
        if name not in graph.variables:
            name = composed(name)  # as the parser reads the expression's names
        if name in given:
            raise BindError(tr("a value for {name} is given twice").format(name=clipped(name)))
        if name not in graph.variables:
            raise BindError(_unknown(graph, name))
        if type(value) is float and value - value == 0.0:  # a finite float: as it is
            given[name] = value
        else:
            what = tr("the value of {name}").format(name=clipped(name))
            given[name] = _value(what, value, BindError)
    missing = [name for name in graph.variables if name not in given]
    if missing:
        listed = ", ".join(map(clipped, missing))
        message = tr_n("missing a value for {names}", "missing values for {names}", len(missing))
        raise BindError(message.format(names=listed))
    return {name: given[name] for name in graph.variables}


def _given_constants(graph: Graph, values: Values) -> tuple[Graph, Values]:
    """The graph read again with `pi` or `e` as an input where `values` give it a value
    (the parser reads them as constants unless told): the same rule for a graph parsed
    without the values (batch, the API) as for one parsed with them (the command line)."""
    if isinstance(values, Mapping):
        names: Iterable[object] = values
    elif isinstance(values, Iterable) and not isinstance(values, (str, bytes)):
        values = list(values)  # read twice: here and by bind
        names = [pair[0] for pair in values if isinstance(pair, (tuple, list)) and pair]
    else:
        return graph, values  # bind says what values should be
    given = [name for name in names if isinstance(name, str) and name in NAMED_CONSTANTS]
    if not given or all(name in graph.variables for name in given):
        return graph, values
    constants = named_constants(graph)
    if not any(name in constants for name in given):
        return graph, values
    inputs = {*given, *(name for name in NAMED_CONSTANTS if name in graph.variables)}
    return parse(graph.source, len(graph), inputs), values


def _pairs(values: object) -> Iterator[tuple[str, object]]:
    """(name, value) pairs, or a BindError that says what values should be."""
    shape = tr("values must be a mapping of name to number, or (name, value) pairs")
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise BindError(tr("{shape}, got {name}").format(shape=shape, name=type(values).__name__))
    for pair in values:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not isinstance(pair[0], str):
            raise BindError(
                tr("{shape}, got the item {pair}").format(shape=shape, pair=clipped(repr(pair)))
            )
        yield pair[0], pair[1]


def _unknown(graph: Graph, name: str) -> str:
    shown = clipped(name)
    if graph.node_named(name) is not None:
        return tr("{name} is computed by the expression, not an input: it takes no value").format(
            name=shown
        )
    guess = difflib.get_close_matches(name, list(graph.variables), n=1)
    if guess:
        return tr("{name} is not an input of the expression; did you mean {guess}?").format(
            name=shown, guess=guess[0]
        )
    if graph.variables:
        return tr("{name} is not an input of the expression (its inputs are {inputs})").format(
            name=shown, inputs=", ".join(map(clipped, graph.variables))
        )
    return tr("{name} is not an input of the expression (it has no inputs)").format(name=shown)


def _number(what: str, value: object, error: type[BindError] | type[InputError]) -> float:
    try:
        return to_float(value)
    except NotANumber as exc:
        raise error(exc.message(what)) from None


def _value(what: str, value: object, error: type[BindError] | type[InputError]) -> Any:
    """A number (as `_number`), or a vector or matrix as a float64 NumPy array."""
    try:
        return to_float(value)
    except NotANumber as exc:
        if not is_array(value):
            raise error(exc.message(what)) from None
    try:
        return to_value(value)
    except (NotANumber, NotATensor) as exc:  # an element that is not a number; a ragged array
        raise error(exc.message(what)) from None
