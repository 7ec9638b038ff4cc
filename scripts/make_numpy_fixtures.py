#!/usr/bin/env python3
"""Writes packages/core/testdata/numpy_fixtures.json for packages/core/numpy_parity_test.ts.

Dev-only (not run in CI): the expected outputs come from NumPy/SciPy in float64, independently
of the library, on small inputs drawn with a fixed seed. Every input is rounded to float32 first,
so the library sees exactly the values the reference used.

Usage: python3 scripts/make_numpy_fixtures.py
(then formats the file with `deno fmt`, as `deno fmt --check` covers JSON in the repository).
"""

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
from scipy import special

OUT = Path(__file__).resolve().parent.parent / "packages" / "core" / "testdata" / "numpy_fixtures.json"

rng = np.random.default_rng(20240607)
cases = []


def f32(a):
    """Rounds to float32 and returns float64 holding exactly those values."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def randn(*shape, scale=1.0):
    return f32(rng.standard_normal(shape) * scale)


def distinct(*shape, scale=1.0):
    """Random values without ties (for topk), rounded to float32."""
    n = int(np.prod(shape))
    while True:
        v = f32(rng.standard_normal(n) * scale)
        if len(np.unique(v)) == n:
            return v.reshape(shape)


def enc(values):
    """Flat list of numbers; infinities and NaN as strings (JSON has no literal for them)."""
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel():
        if math.isnan(v):
            out.append("NaN")
        elif math.isinf(v):
            out.append("Infinity" if v > 0 else "-Infinity")
        else:
            out.append(float(v))
    return out


def inp(a, dtype="float32"):
    a = np.asarray(a)
    if dtype == "int32":
        return {"shape": list(a.shape), "dtype": dtype, "values": [int(v) for v in a.ravel()]}
    return {"shape": list(a.shape), "dtype": dtype, "values": enc(a)}


def res(a, dtype="float32"):
    a = np.asarray(a)
    if dtype == "int32":
        return {"shape": list(a.shape), "dtype": dtype, "values": [int(v) for v in a.ravel()]}
    return {"shape": list(a.shape), "dtype": dtype, "values": enc(a)}


def add(name, op, args, inputs, expected):
    cases.append({"name": name, "op": op, "args": args, "inputs": inputs, "expected": expected})


def norm_axes(axes, ndim):
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, int):
        axes = [axes]
    return tuple(sorted(a % ndim for a in axes))


# ---- softmax / logSoftmax ------------------------------------------------------------------


def softmax_ref(x, dim):
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax_ref(x, dim):
    return x - special.logsumexp(x, axis=dim, keepdims=True)


softmax_inputs = [
    ("last axis 3x5", randn(3, 5, scale=2.0), -1),
    ("axis 0 4x3", randn(4, 3, scale=2.0), 0),
    ("middle axis 2x3x4", randn(2, 3, 4), 1),
    (
        "large magnitudes ±80",
        f32([[80.0, -80.0, 79.5, 0.0], [-80.0, -79.0, -80.0, -78.5], [80.0, 80.0, 80.0, 80.0]]),
        -1,
    ),
    ("large magnitudes axis 0", f32([[80.0, -80.0], [79.0, -79.5], [-80.0, 80.0]]), 0),
    ("row with -inf", f32([[0.5, -np.inf, 1.5, -0.25], [-np.inf, 2.0, -np.inf, 1.0]]), -1),
]
for name, x, dim in softmax_inputs:
    add(f"softmax {name}", "softmax", {"dim": dim}, [inp(x)], res(softmax_ref(x, dim)))
    add(f"logSoftmax {name}", "logSoftmax", {"dim": dim}, [inp(x)], res(log_softmax_ref(x, dim)))

# ---- logsumexp -----------------------------------------------------------------------------

for name, x, axes, keepdim in [
    ("one axis", randn(3, 4, scale=3.0), 1, False),
    ("axis 0 keepdim", randn(3, 4, scale=3.0), 0, True),
    ("several axes", randn(2, 3, 4), [0, 2], False),
    ("several axes keepdim", randn(2, 3, 4), [-1, 0], True),
    ("all axes", randn(3, 5), None, False),
    ("large magnitudes", f32([[80.0, 79.0, -80.0], [-80.0, -81.0, -79.5]]), -1, False),
]:
    ax = norm_axes(axes, x.ndim)
    want = special.logsumexp(x, axis=ax, keepdims=keepdim)
    add(f"logsumexp {name}", "logsumexp", {"axes": axes, "keepdim": keepdim}, [inp(x)], res(want))

# ---- gelu ----------------------------------------------------------------------------------

gelu_x = f32(np.concatenate([np.linspace(-6, 6, 25), randn(15, scale=2.0)]))
gelu_erf = 0.5 * gelu_x * (1 + special.erf(gelu_x / math.sqrt(2)))
c = math.sqrt(2 / math.pi)
gelu_tanh = 0.5 * gelu_x * (1 + np.tanh(c * (gelu_x + 0.044715 * gelu_x**3)))
add("gelu erf", "gelu", {"approximate": "none"}, [inp(gelu_x)], res(gelu_erf))
add("gelu tanh", "gelu", {"approximate": "tanh"}, [inp(gelu_x)], res(gelu_tanh))
gelu_2d = randn(3, 4, scale=1.5)
add(
    "gelu erf 3x4",
    "gelu",
    {"approximate": "none"},
    [inp(gelu_2d)],
    res(0.5 * gelu_2d * (1 + special.erf(gelu_2d / math.sqrt(2)))),
)

# ---- erf -----------------------------------------------------------------------------------

erf_x = f32(
    np.concatenate(
        [
            [0.0, 1e-6, -1e-6, 1e-4, -3e-5, 1e-3, 0.01, -0.01, 0.1, 0.5, -0.5, 1.0, -1.0],
            [1.5, -2.0, 2.0, 2.5, -3.0, 3.5, 4.0, -4.5, 5.0, -5.5, 6.0, -6.0],
            np.linspace(-6, 6, 17),
            randn(10, scale=2.0),
        ]
    )
)
add("erf wide range", "erf", {}, [inp(erf_x)], res(special.erf(erf_x)))
erf_2d = randn(2, 5)
add("erf 2x5", "erf", {}, [inp(erf_2d)], res(special.erf(erf_2d)))

# ---- var (torch semantics) -----------------------------------------------------------------

for name, x, axes, keepdim, correction in [
    ("axis 1 default correction", randn(3, 5, scale=2.0), 1, False, None),
    ("axis 0 correction 0", randn(4, 3), 0, False, 0),
    ("axis -1 keepdim", randn(2, 3, 4), -1, True, None),
    ("axes [0, 2] correction 0 keepdim", randn(2, 3, 4), [0, 2], True, 0),
    ("all axes", randn(3, 4), None, False, None),
    ("all axes correction 0", randn(3, 4), None, False, 0),
    ("offset mean", f32(randn(4, 6) + 10.0), 1, False, None),
]:
    ax = norm_axes(axes, x.ndim)
    ddof = 1 if correction is None else correction
    want = np.var(x, axis=ax, ddof=ddof, keepdims=keepdim)
    args = {"axes": axes, "keepdim": keepdim}
    if correction is not None:
        args["correction"] = correction
    add(f"var {name}", "var", args, [inp(x)], res(want))

# ---- matmul (torch.matmul semantics; np.matmul agrees except for the 1-D promotions, which
# numpy also implements the same way) ----------------------------------------------------------

for name, sa, sb in [
    ("1-D · 1-D", (4,), (4,)),
    ("1-D · 2-D", (3,), (3, 5)),
    ("2-D · 1-D", (4, 3), (3,)),
    ("2-D · 2-D", (3, 4), (4, 5)),
    ("batched 3-D · 3-D", (2, 3, 4), (2, 4, 5)),
    ("broadcast batch [2,1,3,4] · [5,4,2]", (2, 1, 3, 4), (5, 4, 2)),
    ("3-D · 1-D", (2, 3, 4), (4,)),
    ("1-D · 3-D", (3,), (2, 3, 4)),
    ("3-D · 2-D", (2, 3, 4), (4, 2)),
    ("odd sizes 5x7 · 7x6", (5, 7), (7, 6)),
]:
    a = randn(*sa)
    b = randn(*sb)
    add(f"matmul {name}", "matmul", {}, [inp(a), inp(b)], res(np.matmul(a, b)))

# A transposed operand: the test builds b as inputs[1].transpose(-1, -2) (a non-contiguous view).
a = randn(3, 4)
bt = randn(5, 4)
add(
    "matmul transposed rhs",
    "matmul",
    {"transpose": [False, True]},
    [inp(a), inp(bt)],
    res(np.matmul(a, bt.T)),
)
at = randn(2, 4, 3)
b = randn(2, 4, 5)
add(
    "matmul transposed batched lhs",
    "matmul",
    {"transpose": [True, False]},
    [inp(at), inp(b)],
    res(np.matmul(np.swapaxes(at, -1, -2), b)),
)

# ---- gather (torch.gather) -----------------------------------------------------------------

for name, shape, dim, ishape in [
    ("dim 0", (4, 3), 0, (5, 3)),
    ("dim 1", (3, 5), 1, (3, 4)),
    ("dim 1 smaller index", (4, 5), 1, (2, 3)),
    ("3-D dim 2", (2, 3, 4), 2, (2, 3, 6)),
    ("3-D dim 1", (2, 3, 4), 1, (2, 5, 4)),
]:
    x = randn(*shape)
    index = rng.integers(0, shape[dim], size=ishape).astype(np.int32)
    # torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] (for dim 1); the index may be smaller
    # than x in the other dims, so take the leading window of x there.
    window = tuple(slice(0, ishape[d]) if d != dim else slice(None) for d in range(x.ndim))
    want = np.take_along_axis(x[window], index, axis=dim)
    add(f"gather {name}", "gather", {"dim": dim}, [inp(x), inp(index, "int32")], res(want))

# ---- scatterAdd (torch.scatter_add, out of place) ------------------------------------------


def scatter_add_ref(self, dim, index, src):
    out = self.copy()
    idx = [np.broadcast_to(np.arange(n).reshape([-1 if d == k else 1 for k in range(index.ndim)]), index.shape)
           for d, n in enumerate(index.shape)]
    idx[dim] = index
    np.add.at(out, tuple(idx), src[tuple(slice(0, n) for n in index.shape)])
    return out


for name, sshape, dim, ishape, srcshape, dup in [
    ("dim 0 duplicates", (3, 4), 0, (5, 4), (5, 4), True),
    ("dim 1 duplicates", (3, 5), 1, (3, 7), (3, 7), True),
    ("dim 1 src larger than index", (3, 4), 1, (2, 3), (3, 5), False),
    ("3-D dim 2", (2, 3, 4), 2, (2, 3, 5), (2, 3, 5), True),
    ("3-D dim 0", (3, 2, 2), 0, (4, 2, 2), (4, 2, 2), True),
]:
    self = randn(*sshape)
    src = randn(*srcshape)
    index = rng.integers(0, sshape[dim], size=ishape).astype(np.int32)
    if dup:
        # Make sure at least one target receives two contributions: index[0, ..., 0] and the
        # element one step along `dim` from it land on the same output position.
        first = [0] * index.ndim
        second = [0] * index.ndim
        second[dim] = 1
        index[tuple(second)] = index[tuple(first)]
    want = scatter_add_ref(self, dim, index, src)
    add(
        f"scatterAdd {name}",
        "scatterAdd",
        {"dim": dim},
        [inp(self), inp(index, "int32"), inp(src)],
        res(want),
    )

# ---- topk ----------------------------------------------------------------------------------


def topk_ref(x, k, dim, largest):
    key = -x if largest else x
    order = np.argsort(key, axis=dim, kind="stable")
    idx = np.take(order, np.arange(k), axis=dim)
    return np.take_along_axis(x, idx, axis=dim), idx.astype(np.int32)


for name, x, k, dim, largest in [
    ("largest last dim", distinct(3, 6), 3, -1, True),
    ("smallest last dim", distinct(3, 6), 2, -1, False),
    ("largest dim 0", distinct(5, 4), 2, 0, True),
    ("smallest dim 0", distinct(5, 4), 3, 0, False),
    ("3-D middle dim", distinct(2, 5, 3), 4, 1, True),
    ("k = n", distinct(2, 4), 4, -1, True),
]:
    values, indices = topk_ref(x, k, dim, largest)
    add(
        f"topk {name}",
        "topk",
        {"k": k, "dim": dim, "largest": largest},
        [inp(x)],
        {"values": res(values), "indices": res(indices, "int32")},
    )

OUT.parent.mkdir(parents=True, exist_ok=True)
doc = {
    "generator": "scripts/make_numpy_fixtures.py",
    "numpy": np.__version__,
    "note": "Inputs are float32-exact; expected values computed in float64 by NumPy/SciPy.",
    "cases": cases,
}
OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
print(f"wrote {len(cases)} cases to {OUT}")

# `deno fmt --check` runs over the whole repository, JSON included: format the output the same way.
ROOT = OUT.parents[3]
deno = shutil.which("deno") or str(ROOT / "tools" / "node_modules" / ".bin" / "deno")
try:
    subprocess.run([deno, "fmt", "--quiet", str(OUT)], check=True, cwd=ROOT)
except (OSError, subprocess.CalledProcessError) as e:
    print(f"could not run deno fmt ({e}); run `deno fmt {OUT.relative_to(ROOT)}` before committing")
