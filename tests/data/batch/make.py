"""Made tests/data/batch/: the request corpus, and main's answers to it (run once, at main
0ca91c3, before batch and `grad --json` were made faster). Not a test: `python
tests/data/batch/make.py` rewrites the files with the bpcli on PATH, which is how they
were made; rerun it only to add cases, with main's bpcli.
"""

import json
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
L = []


def r(**kw):
    L.append(json.dumps(kw))


def raw(s):
    L.append(s)


lec = {"x": -2, "y": 5, "z": -4}
raw('\ufeff{"id": "bom", "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}, "lr": 0.1}')
for i in (0, 1, 2, 123456789012345678901234567890, -7):
    r(id=i, expr="(x+y)*z", values=lec, lr=0.1)
for rid in (
    "s",
    "é",
    "한글",
    "\ud800",
    None,
    1.5,
    -0.0,
    True,
    False,
    [1, {"a": [None]}],
    {"k": "v"},
    1e300,
    "",
):
    r(id=rid, expr="(x+y)*z", values=lec, lr=0.1)
r(id="nolr", expr="(x+y)*z", values=lec)
r(id="steps3", expr="(x+y)*z", values=lec, lr=0.1, steps=3)
r(id="steps2.0", expr="(x+y)*z", values=lec, lr=0.1, steps=2.0)
r(id="steps1.5", expr="(x+y)*z", values=lec, lr=0.1, steps=1.5)
r(id="stepsnolr", expr="(x+y)*z", values=lec, steps=2)
r(id="steps0", expr="(x+y)*z", values=lec, lr=0.1, steps=0)
r(id="stepsbig", expr="(x+y)*z", values=lec, lr=0.1, steps=10**6)
r(id="stepslong", expr="x*x", values={"x": 1}, lr=0.01, steps=1500)
r(id="stepsstr", expr="(x+y)*z", values=lec, lr=0.1, steps="3")
r(id="lr0", expr="(x+y)*z", values=lec, lr=0)
r(id="lrneg", expr="(x+y)*z", values=lec, lr=-0.5)
r(id="lrnegzero", expr="(x+y)*z", values=lec, lr=-0.0)
r(id="lrstr", expr="(x+y)*z", values=lec, lr="0.1")
r(id="lrbool", expr="(x+y)*z", values=lec, lr=True)
r(id="lrnull", expr="(x+y)*z", values=lec, lr=None)
raw('{"id": "lrhuge", "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}, "lr": 1e400}')
r(id="overflowupdate", expr="x*x", values={"x": 1e200}, lr=1e200)
r(id="tie-split", expr="max(x, y)", values={"x": 3, "y": 3})
r(id="tie-first", expr="max(x, y)", values={"x": 3, "y": 3}, max_tie="first")
r(id="tie-min", expr="min(x, y, z)", values={"x": 1, "y": 1, "z": 1}, max_tie="first")
r(id="tie-bad", expr="max(x, y)", values={"x": 3, "y": 3}, max_tie="last")
r(id="tie-null", expr="max(x, y)", values={"x": 3, "y": 3}, max_tie=None)
r(id="relu0", expr="relu(x)*2", values={"x": 0})
r(id="abs0", expr="abs(x)+x", values={"x": 0})
r(id="sqrt0", expr="sqrt(x)", values={"x": 0})
r(id="sqrt0b", expr="sqrt(x)*y", values={"x": 0, "y": 0})
r(id="log0", expr="log(x)", values={"x": 0})
r(id="exp1000", expr="exp(x)", values={"x": 1000})
r(id="div0", expr="x/y", values={"x": 1, "y": 0})
r(id="pow", expr="x**3 + 2**x", values={"x": -1.5})
r(id="negzero", expr="x*y", values={"x": -0.0, "y": 0.0})
r(id="tiny", expr="x*y", values={"x": 1e-300, "y": 1e-300})
r(id="bigint", expr="x+1", values={"x": 10**20})
raw('{"id": "hugeint", "expr": "x+1", "values": {"x": ' + "9" * 400 + "}}")
raw('{"id": "inf", "expr": "x+1", "values": {"x": 1e400}}')
raw('{"id": "nan", "expr": "x+1", "values": {"x": NaN}}')
raw('{"id": "infconst", "expr": "x+1", "values": {"x": Infinity}}')
raw('{"id": 1e400, "expr": "x+1", "values": {"x": 1}}')
raw('{"id": [1e400], "expr": "x+1", "values": {"x": 1}}')
r(id="uni", expr="α*β + 한*2", values={"α": 1.5, "β": -2, "한": 3})
r(id="uni-miss", expr="α*β", values={"α": 1.5})
r(id="typo", expr="x*y", values={"x": 1, "yy": 2})
r(id="computed", expr="q = x+y\nq*z", values={"x": -2, "y": 5, "z": -4})
r(id="prog", expr="q = x + y\nf = q * z", values=lec, lr=0.1)
r(id="parseerr", expr="x*", values={"x": 1})
r(id="parseerr2", expr="2x + (", values={"x": 1})
r(id="noexpr", values={"x": 1})
r(id="exprnum", expr=5, values={"x": 1})
r(id="valuesarr", expr="x", values=[1])
r(id="valuestr", expr="x", values={"x": "1"})
r(id="valuebool", expr="x", values={"x": True})
r(id="valuenull", expr="x", values={"x": None})
r(id="unknown", expr="x", values={"x": 1}, valeus=2)
r(id="unknown2", expr="x", values={"x": 1}, foo=1, bar=2)
raw('{"id": "dup", "id": "dup2", "expr": "x", "expr": "x*2", "values": {"x": 1}}')
raw("not json at all")
raw("")
raw("   \t ")
raw("[1, 2, 3]")
raw('"a string"')
raw("null")
raw('{"id": "trunc", "expr": ')
raw('{"id": "crlf", "expr": "x*2", "values": {"x": 4}}\r')
r(id="const", expr="3*4", values={})
r(id="constonly", expr="2")
r(id="valuesnull", expr="x", values=None)
r(id="fanout", expr="x*x + x", values={"x": 3}, lr=0.1)
r(
    id="neuron",
    expr="sigmoid(w0*x0 + w1*x1 + w2)",
    values={"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
    lr=0.5,
    steps=2,
)
r(id="tanh", expr="tanh(x)*sin(x)+cos(x)/exp(x)", values={"x": 0.7})
r(id="floatrepr", expr="x*0.1 + y/3", values={"x": 0.1, "y": 1e22})
r(id="deep", expr="(((((((((x+1)*2)+1)*2)+1)*2)+1)*2)+1)", values={"x": 0.3}, lr=0.01)
r(
    id="manyvars",
    expr="+".join(f"v{i}*v{i}" for i in range(60)),
    values={f"v{i}": i / 7 for i in range(60)},
    lr=0.1,
    steps=3,
)
r(id="nested", expr="x", values={"x": {"a": 1}})
raw('{"id": ' + "[" * 150 + "]" * 150 + ', "expr": "x", "values": {"x": 1}}')
raw('{"id": "deepjson", "expr": "x", "values": ' + "[" * 5000 + "]" * 5000 + "}")
raw('{"id": "ctl", "expr": "x\\u0000", "values": {"x": 1}}')
raw('{"id": "tab\\tnl\\n", "expr": "x\\n", "values": {"x": 1}}')
with open(HERE / "requests.jsonl", "wb") as f:
    for line in L:
        f.write(line.encode("utf-8", "surrogatepass") + b"\n")
    f.write(b'{"id": "badutf8", "expr": "x\xff", "values": {"x": 1}}\n')
    f.write(b'{"id": "badutf8b", "expr": "\xc3", "values": {"x": 1}}\n')
    f.write(
        b'{"id": "last", "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}, "lr": 0.1}'
    )  # no final newline
env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
for name, extra in (("answers.jsonl", []), ("answers-max-size-60.jsonl", ["--max-size", "60"])):
    with open(HERE / name, "wb") as f:
        subprocess.run(["bpcli", "batch", *extra, str(HERE / "requests.jsonl")], stdout=f, env=env)
CASES = [
    (["grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4", "--json"], "utf-8"),
    (["grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4", "--json", "--lr", "0.1"], "utf-8"),
    (
        [
            "grad",
            "(x+y)*z",
            "--x",
            "-2",
            "--y",
            "5",
            "--z",
            "-4",
            "--json",
            "--lr",
            "0.1",
            "--steps",
            "3",
        ],
        "utf-8",
    ),
    (["grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4", "--json", "--no-nodes"], "utf-8"),
    (["grad", "max(x, y)*z", "x=3", "y=3", "z=2", "--json", "--max-tie", "first"], "utf-8"),
    (["grad", "max(x, y)*z", "x=3", "y=3", "z=2", "--json"], "utf-8"),
    (["grad", "α*β + 한*2", "α=1.5", "β=-2", "한=3", "--json"], "utf-8"),
    (["grad", "α*β + 한*2", "α=1.5", "β=-2", "한=3", "--json"], "ascii"),
    (["grad", "sqrt(x)*y + relu(x) + abs(x)", "x=0", "y=0", "--json"], "utf-8"),
    (["grad", "q = x + y\nf = q * z\n", "x=-2", "y=5", "z=-4", "--json", "--gradcheck"], "utf-8"),
    (["grad", "x*x + x", "x=3", "--json", "--lr", "0.1", "--steps", "300"], "utf-8"),
    (["grad", "+".join(["x"] * 400), "x=2", "--json"], "utf-8"),
    (["grad", "tanh(x)*sin(x)+cos(x)/exp(x)+x**3", "x=0.7", "--json", "--lr", "0.05"], "utf-8"),
]
with open(HERE / "grad-json.jsonl", "w") as f:
    for args, enc in CASES:
        e = dict(env, PYTHONIOENCODING=enc)
        out = subprocess.run(
            ["bpcli", *args], capture_output=True, env=e, check=True
        ).stdout.decode(enc)
        f.write(json.dumps({"args": args, "encoding": enc, "stdout": out}) + "\n")
