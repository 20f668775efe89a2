"""The lecture's gradient patterns, each a value that carries its own words.

An op's pattern says how a gradient flows back through its gate: an add gate is
a "gradient distributor", a mul gate a "swap multiplier", a max gate a
"gradient router", a node used more than once a copy gate, a "gradient adder".
Every word said about a pattern is here, once: its `name` (the JSON's
`"pattern"`, the label of a graph's box), its `headline` in a walkthrough, the
`reasons` a walkthrough gives and the `hints` `check` gives for a wrong answer.

Reasons and hints are whole sentences with named placeholders (`{upstream}`,
`{node}`), filled in by the walkthrough (render/walkthrough.py) and by `check`,
which find them through the pattern value itself, never through its name: a
pattern renamed keeps its words. A list inside a sentence (`x gets 5, y gets -5`)
has its own template for one item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .i18n import N_, tr


@dataclass(frozen=True, eq=False)  # each pattern is itself: compared and hashed by identity
class Pattern:
    """One gradient pattern: its name, its headline, and its words."""

    name: str
    headline: str = ""  # as the lecture names it; the name if empty
    reasons: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[str, str] = field(default_factory=dict)
    # The walkthrough's reasons over vectors and matrices, where the gate is said its own
    # way there (a sum as an add gate over the elements of its input).
    tensor_reasons: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.headline:
            object.__setattr__(self, "headline", self.name)

    def __repr__(self) -> str:
        return f"Pattern({self.name!r})"

    def reason(self, key: str, **values: str) -> str:
        """The walkthrough's reason `key`, filled in (`{headline}` is the pattern's)."""
        return tr(self.reasons[key]).format(headline=self.headline, **values)

    def tensor_reason(self, key: str, **values: str) -> str:
        """The walkthrough's reason `key` over vectors and matrices, filled in."""
        return tr(self.tensor_reasons[key]).format(headline=self.headline, **values)

    def hint(self, key: str, **values: str) -> str:
        """`check`'s hint `key`, filled in (`{headline}` is the pattern's)."""
        return tr(self.hints[key]).format(headline=self.headline, **values)


# A gate whose reason is its local derivatives, written out: "sine: the local gradient
# is ∂s/∂x = cos(x)". {rules} is the local derivatives, one per input, joined by "; ".
RULE = N_("{headline}: the local gradient is {rules}")
RULES_JOIN = "; "
# … over vectors and matrices, of a gate that works element by element
ELEMENTWISE_RULE = N_("{headline}, elementwise: the local gradient is {rules}, element by element")


# A function gate's mistake: the upstream gradient passed on without the local gradient.
LOCAL_LEFT_OUT = N_(
    "{op} gate {gate} ({headline}): {node} gets the upstream gradient {upstream} times the"
    " local gradient {local}; the local gradient was left out"
)


def _rule(name: str, elementwise: bool = True) -> Pattern:
    tensor = {"rule": ELEMENTWISE_RULE} if elementwise else {}
    return Pattern(
        name,
        reasons={"rule": RULE},
        hints={"local left out": LOCAL_LEFT_OUT},
        tensor_reasons=tensor,
    )


# Mistakes that are no one gate's pattern: the chain rule's upstream factor, the update
# step's direction.
UPSTREAM_LEFT_OUT = N_(
    "{op} gate {gate}: {node} gets the upstream gradient {upstream} times the local gradient"
    " {local} = {sent}; the upstream gradient was left out"
)
UPDATE_SIGN = N_(
    "the update step goes against the gradient: {node} - lr · ∂f/∂{node} ="
    " {value} - {lr} · {grad} = {want}, not {value} + {lr} · {grad}"
)


# ---- leaves: never a gate ----------------------------------------------------------------

INPUT = Pattern("input")
CONSTANT = Pattern("constant")

# ---- the lecture's named patterns -------------------------------------------------------

DISTRIBUTOR = Pattern(
    "distributor",
    "gradient distributor",
    reasons={
        "unchanged": "{headline}: every input gets the upstream gradient {upstream} unchanged",
        "signed": "{headline} with a sign: each input gets the upstream gradient {upstream}"
        " times its sign: {gets}",
        "gets": "{input} gets {sent}",  # one item of {gets}, joined by ", "
    },
    hints={
        "split": "{op} gate {gate} is a {headline}: every input gets the whole upstream"
        " gradient {upstream}, not a share of it split {ways} ways",
        "sign": "{op} gate {gate} passes the gradient to {input} with a minus ({input} gets"
        " {sent}): the sign was flipped there",
    },
    tensor_reasons={
        "sum": "{headline}: sum adds up the elements of {input}, as an add gate adds its"
        " inputs, so each element gets the upstream gradient {upstream} of its sum unchanged",
        "mean": "{headline}: mean is a sum divided by {n}, so each element of {input} gets"
        " the upstream gradient {upstream} of its mean divided by {n}",
    },
)
SWAP = Pattern(
    "swap multiplier",
    reasons={
        "swap": "{headline}: each input gets the upstream gradient times the other input's"
        " value ({gets})",
        "gets": "{input}: {product}",  # one item of {gets}, joined by ", "
    },
    hints={
        "own value": "{op} gate {gate} is a {headline}: {node} gets the upstream gradient"
        " {upstream} times the other input ({other}), not times its own value",
    },
    tensor_reasons={
        "swap": "{headline}, elementwise: each input gets the upstream gradient times the"
        " other input's values, element by element ({gets})",
        "gets": "{input}: {product}",
    },
)
ROUTER = Pattern(
    "router",
    "gradient router",
    reasons={
        "winner": "{headline}: {winner} is the {which} ({value}) and gets the whole gradient"
        " {upstream}; the others get 0",
        "tie split": "{headline}: {winners} tie at {value}; the gradient {upstream} is split"
        " evenly among them (--max-tie first sends it all to the first)",
        "tie first": "{headline}: {winners} tie at {value}; the gradient {upstream} is sent to"
        " the first of them (--max-tie first)",
    },
    hints={
        "withheld": "{op} gate {gate} is a {headline}: {node} wins ({value}), so it gets the"
        " whole gradient {upstream}",
        "misrouted": "{op} gate {gate} is a {headline}: only the winner {winner} ({value}) gets"
        " the gradient; {node} lost, so it gets 0",
        "tie split": "{op} gate {gate} is a {headline}: {winners} tie at {value}, so the"
        " gradient {upstream} is split evenly among them: {node} gets {share}",
        "tie first": "{op} gate {gate} is a {headline}: {winners} tie at {value}, and under"
        " max_tie first the gradient {upstream} goes to the first of them, {first}:"
        " {node} gets {share}",
    },
    tensor_reasons={
        "reduce": "{headline}: {which}({input}) is its element {winner} = {value}, which gets"
        " the whole gradient {upstream}; the other elements get 0",
        "reduce tie split": "{headline}: the elements {winners} of {input} tie for the {which}"
        " at {value}; the gradient {upstream} is split evenly among them (--max-tie first"
        " sends it all to the first)",
        "reduce tie first": "{headline}: the elements {winners} of {input} tie for the {which}"
        " at {value}; the gradient {upstream} is sent to the first of them, {first}"
        " (--max-tie first)",
        "elementwise": "{headline}, elementwise: each element's gradient goes to the input"
        " that is the {which} there; the others get 0",
        "elementwise tie split": "{headline}, elementwise: each element's gradient goes to"
        " the input that is the {which} there; the others get 0. A tie at {at}: there the"
        " gradient is split evenly among the inputs that tie (--max-tie first sends it all"
        " to the first)",
        "elementwise tie first": "{headline}, elementwise: each element's gradient goes to"
        " the input that is the {which} there; the others get 0. A tie at {at}: there the"
        " gradient goes to the first of the inputs that tie (--max-tie first)",
        "index": "{headline}: {element} picks one element of {input}, which gets the whole"
        " gradient {upstream}; the other elements get 0, and the index gets no gradient",
    },
)
COPY = Pattern(
    "copy",
    "gradient adder",
    reasons={"add": "the gradients that flow back along its uses add up"},
    hints={
        "missed use": "copy gate: {node} is used {uses} times, and its gradient adds what every"
        " use sends back: {terms} = {grad}",
    },
)

# ---- gates whose reason is their rule -----------------------------------------------------

DIVIDER = _rule("divider")
POWER = _rule("power rule")
EXPONENTIAL = _rule("exponential")
LOGARITHM = _rule("logarithm")
SQUARE_ROOT = _rule("square root")
SINE = _rule("sine")
COSINE = _rule("cosine")
TANGENT = _rule("tangent")
SQUASHING = _rule("squashing")
SWITCH = _rule("switch")
SIGN = _rule("sign")
# vectors and matrices
MATMUL = Pattern(
    "matrix multiplier",
    reasons={"rule": RULE},
    hints={"local left out": LOCAL_LEFT_OUT},
    tensor_reasons={
        "swap": "{headline}, the swap multiplier for matrices: each input gets the upstream"
        " gradient times the other input ({gets}), the other input transposed: that is the"
        " one way to multiply them that gives the input's own shape",
        "gets": "{input}: {product}",
    },
)
TRANSPOSE = _rule("transpose", elementwise=False)
SOFTMAX = _rule("softmax", elementwise=False)

PATTERNS: tuple[Pattern, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Pattern))
