"""Programs whose `--json` node text every writer must give to the byte: each a source,
its values and its tie rule, chosen for what a node's text can hold (a copy gate, a
router's tie, an infinite local gradient stopped by a zero, -0.0, constants only,
the largest and smallest floats, names a generated name must skip, long, short and
folded texts, texts with quotes, backslashes, percent signs, tabs, control
characters and non-ASCII letters, a variadic max, and graphs past the size whose
node text is kept)."""

from __future__ import annotations

LONG_NAME = "a_very_long_input_name_" + "x" * 80
SUM_TERMS = 10_050  # past result.KEEP_TEXT: written as it goes


def _sum(terms: int, name: str = "x") -> str:
    return " + ".join([name] * terms)


def _chain(depth: int) -> str:
    """((x*0.5+0.25)*1.5+…): texts short, folded (61 to 240 characters) and cut."""
    text = "x"
    for k in range(depth):
        text = f"({text}*{0.5 + k % 3 / 4}+{k % 7 / 4})"
    return text


PROGRAMS: list[tuple[str, dict[str, float], str]] = [
    ("(x+y)*z", {"x": -2.0, "y": 5.0, "z": -4.0}, "split"),
    ("q = x + y\nf = q * z", {"x": -2.0, "y": 5.0, "z": -4.0}, "split"),
    ("a = x * y\nb = a + x\nf = b * a + max(x, y, a)", {"x": 2.0, "y": 2.0}, "split"),
    ("a = x * y\nb = a + x\nf = b * a + max(x, y, a)", {"x": 2.0, "y": 2.0}, "first"),
    ("max(x, y, x) + min(x, x) + x * x", {"x": 1.0, "y": 1.0}, "split"),
    ("max(x, y, x, y, z) * min(z, y)", {"x": 1.0, "y": 3.0, "z": 3.0}, "first"),
    ("sqrt(x) * 0 + relu(y) + abs(y) + x / y", {"x": 0.0, "y": 1e-300}, "split"),
    ("x / y * 1e-300 + 2 * 3", {"x": 5e-324, "y": 5e-324}, "split"),
    ("relu(x) + abs(x) + relu(-x)", {"x": 0.0}, "split"),
    ("x * -0.0 + y * 0", {"x": -0.0, "y": -0.0}, "split"),
    ("-x * y", {"x": 0.0, "y": -3.5}, "split"),
    ("x * 1e308 + y * 1e-308", {"x": 1.5, "y": 2.5}, "split"),
    ("(1 + 1) * x + 2 ** 3", {"x": 0.1}, "split"),
    ("exp(x) + log(y) + sin(x) * cos(y) + tan(x) + tanh(y) + sigmoid(x)", {"x": 0.3, "y": 2.0}, "split"),
    ("x ** y + y ** 2 + 2 ** x", {"x": 1.7, "y": 0.5}, "split"),
    ("pi * x + e", {"x": 2.0}, "split"),
    ("add1 + x*2 + x*3 + mul1 * mul3", {"add1": 1.0, "x": 2.0, "mul1": 3.0, "mul3": 4.0}, "split"),
    ("const1 = x * 2\nadd2 = const1 + 3\nf = add2 * add2", {"x": 1.25}, "split"),
    ("f * 2 + add01 + mul0", {"f": 1.0, "add01": 2.0, "mul0": 3.0}, "split"),
    (f"{LONG_NAME} * y + {LONG_NAME}", {LONG_NAME: 0.5, "y": 4.0}, "split"),
    ("무게 * 입력 + 편향", {"무게": 0.5, "입력": 2.0, "편향": -1.0}, "split"),
    ("f = (x +   # a comment with \"quotes\", a \\ and 100 %\n   y) * z", {"x": 1.0, "y": 2.0, "z": 3.0}, "split"),
    ("f = (x +\t# tab, é, 한글, \x01 and \x7f\n y) * (x\n - y)", {"x": 1.0, "y": 2.0}, "split"),
    ("f = (x + # % %s %d %%\n y)", {"x": 1.0, "y": 2.0}, "split"),
    # trees (each node used once, sending back its gradient) with labels, a variadic
    # max and min, a send of -0.0 whose node's gradient is 0.0, and sends of null
    ("t = sin(x) * 2\nu = exp(t) - 3\nf = -(u / 4) + cos(y) * max(a, b, c) - min(d, e, w)", {"x": 0.5, "y": 1.5, "a": 1.0, "b": 3.0, "c": 3.0, "d": -1.0, "e": 2.0, "w": -1.0}, "split"),
    ("m = y * -1e-200\nf = m * 1e-200 + sqrt(x) * 0 + 2 * 3", {"x": 0.0, "y": 3.0}, "split"),
    ("m = y * -1e-200\nf = m * 1e-200 * 3 + 2", {"y": 3.0}, "split"),  # a chain's edges
    ('f=(x*2+y)*x#"a\\b"', {"x": 1.5, "y": -2.0}, "split"),  # bare, but a quote and a \
    ("f = (x * 2) * (y + 1)\ng = f + z", {"x": 1.0, "y": -1.0, "z": 0.5}, "first"),
    (_chain(6), {"x": 0.5}, "split"),
    (_chain(40), {"x": 0.5}, "split"),
    ("(" + " +\n".join(f"x{i}" for i in range(30)) + ") * y", {**{f"x{i}": float(i) for i in range(30)}, "y": 2.0}, "split"),
    (_sum(SUM_TERMS), {"x": 0.5}, "split"),
    (_chain(SUM_TERMS // 4), {"x": 0.25}, "split"),
    (_sum(SUM_TERMS // 2, "y") + " + max(y, z, y) * 2 + 한 * y", {"y": 1.0, "z": 1.0, "한": 3.0}, "split"),
]  # fmt: skip
