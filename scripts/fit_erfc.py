"""Fits the erfc polynomial used by packages/core/wasm/elementwise.wat.

erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z/2), z in [0, 10]: P is the degree-10 least-squares
fit to log(erfc(z) / t) + z^2 on 40,001 evenly spaced points (Python's math.erfc as the truth).
Prints the coefficients from t^10 down to t^0 (the Horner order of the WAT source), the fit error,
and the float32 relative error of the WAT evaluation scheme simulated in NumPy.

Usage: python3 scripts/fit_erfc.py
"""

import math

import numpy as np

DEGREE = 10
zs = np.linspace(0.0, 10.0, 40001)
t = 1.0 / (1.0 + zs / 2.0)
target = np.array([math.log(math.erfc(z)) for z in zs]) + zs**2 - np.log(t)
vander = np.vander(t, DEGREE + 1, increasing=True)
coef, *_ = np.linalg.lstsq(vander, target, rcond=None)
print("fit error (float64):", np.max(np.abs(vander @ coef - target)))
print("coefficients, t^10 .. t^0:")
for c in coef[::-1]:
    print(f"  {float(c)!r}")

f32 = np.float32


def erfc32(w: np.float32) -> np.float32:
    """The WAT scheme in float32 for z = w/sqrt(2): Horner in t, z^2 = (wh^2 + wl * (w + wh)) / 2."""
    z = f32(w * f32(0.70710678118654752))
    tt = f32(1) / (f32(1) + f32(0.5) * z)
    p = f32(coef[DEGREE])
    for k in range(DEGREE - 1, -1, -1):
        p = f32(p * tt + f32(coef[k]))
    wh = np.array([w], dtype=f32).view(np.uint32) & np.uint32(0xFFFFF000)
    wh = wh.view(f32)[0]
    big = f32(np.exp(f32(-wh * wh * f32(0.5))))
    return tt * big * f32(np.exp(f32(p - f32(f32(w - wh) * f32(w + wh)) * f32(0.5))))


worst = 0.0
for w in np.linspace(0.0, 12.7, 20001).astype(f32):
    exact = math.erfc(float(w) / math.sqrt(2.0))
    worst = max(worst, abs(float(erfc32(w)) - exact) / exact)
print("float32 relative error of erfc(w/sqrt(2)), w in [0, 12.7]:", worst)
