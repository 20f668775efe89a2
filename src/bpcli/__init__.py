"""bpcli: backpropagation on a typed expression, step by step.

>>> import bpcli
>>> result = bpcli.grad("(x+y)*z", {"x": -2, "y": 5, "z": -4})
>>> result.output, result.gradients
(-12.0, {'x': -4.0, 'y': -4.0, 'z': 3.0})
"""

from .api import evaluate, grad
from .errors import BindError, BpcliError, DomainError, InputError, ParseError, RequestError
from .graph import Graph, Node
from .ops import Conventions
from .parser import parse
from .result import NodeResult, Result, Update

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """`%load_ext bpcli`: the `%bpcli` and `%%bpcli` magics (see bpcli.magic)."""
    from .magic import load

    load(ipython)


__all__ = [
    "BindError",
    "BpcliError",
    "Conventions",
    "DomainError",
    "Graph",
    "InputError",
    "Node",
    "NodeResult",
    "ParseError",
    "RequestError",
    "Result",
    "Update",
    "evaluate",
    "grad",
    "load_ipython_extension",
    "parse",
]
