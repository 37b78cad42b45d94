#!/usr/bin/python3
"""Reference optima for the engine's exact solvers, with Debian's python3-numpy (no scipy on the machine).

  /usr/bin/python3 bench/exact_reference.py   # writes tests/Engine.Tests/Data/exact_reference.json

Condition numbers are numpy.linalg.cond of the Vandermonde matrix of x as it is (what gradient descent on the params
faces: the MSE Hessian is (2/N)·VᵀV), and for the ill-conditioned case of powers of x' = (x - c)/s with unit columns.
mse:   numpy.polyfit (SVD least squares on the column-scaled Vandermonde matrix of x); for the ill-conditioned case
       also numpy.polynomial.Polynomial.fit, which maps x to [-1, 1] first (the loss to compare against there).
mae:   brute force over every vertex of the linear program: each choice of d+1 points with distinct x, interpolated
       exactly, gives a candidate; the least mean absolute error among them is the optimum (small cases only).
huber: 2000 rounds of IRLS (weights min(1, delta/|r|)) from the least-squares fit, in float64; an independent
       slow method whose loss the engine's Newton solver must match.
Params are highest power first, as numpy.polyfit and the engine.
"""
import itertools, json, os
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "tests", "Engine.Tests", "Data")


def horner(p, x):
    y = np.full_like(x, p[0])
    for c in p[1:]:
        y = y * x + c
    return y


def huber(r, delta):
    a = np.abs(r)
    return np.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta))


def cond(x, degree, unit_columns=False):
    v = np.vander(x, degree + 1)
    return float(np.linalg.cond(v / np.sqrt((v * v).sum(axis=0)) if unit_columns else v))


def lad_brute_force(x, y, degree):
    best = None
    for idx in itertools.combinations(range(len(x)), degree + 1):
        xs = x[list(idx)]
        if len(set(xs.tolist())) < degree + 1:
            continue
        p = np.linalg.solve(np.vander(xs, degree + 1), y[list(idx)])
        loss = float(np.mean(np.abs(horner(p, x) - y)))
        if best is None or loss < best[0]:
            best = (loss, p)
    return best


def huber_irls(x, y, degree, delta):
    v = np.vander(x, degree + 1)
    p = np.polyfit(x, y, degree)
    for _ in range(2000):
        r = y - v @ p
        w = np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300))
        sw = np.sqrt(w)
        p = np.linalg.lstsq(v * sw[:, None], y * sw, rcond=None)[0]
    return float(np.mean(huber(horner(p, x) - y, delta))), p


def main():
    with open(os.path.join(DATA, "lesson.json")) as f:
        lesson = json.load(f)
    lx, ly = np.array(lesson["x"]), np.array(lesson["y"])
    rng = np.random.default_rng(11)
    cx = np.sort(rng.uniform(-1.5, 1.5, 200))
    cy = 0.5 * cx**3 - cx**2 + 2 * cx + 1 + rng.normal(0, 0.3, 200)
    sx = np.linspace(-1, 1, 120)
    sy = np.sin(3 * sx) + rng.normal(0, 0.05, 120)
    wx = np.linspace(0, 10, 60)
    wy = 0.01 * wx**4 - 0.2 * wx**3 + wx + 4 + rng.standard_t(2, 60)  # heavy tails
    ix = np.linspace(0, 1000, 50)
    iy = 100 * np.sin(ix / 200) + rng.normal(0, 1, 50)
    mx = np.sort(rng.uniform(-3, 3, 40))
    my = 2 * mx**2 - mx + rng.laplace(0, 1, 40)

    cases = []

    def mse(name, x, y, degree, ill=False):
        p = np.polyfit(x, y, degree)
        case = {"name": name, "loss": "mse", "degree": degree, "x": x.tolist(), "y": y.tolist(),
                "params": p.tolist(), "optimumLoss": float(np.mean((horner(p, x) - y) ** 2)),
                "conditionNumber": None if ill else cond(x, degree), "illConditioned": ill}
        if ill:
            poly = np.polynomial.Polynomial.fit(x, y, degree)
            case["optimumLoss"] = float(np.mean((poly(x) - y) ** 2))
            c, s = (x.max() + x.min()) / 2, (x.max() - x.min()) / 2
            # numpy's SVD cannot resolve the raw condition number here (~1e30 > 1/eps); the scaled one it can.
            case["unitColumnConditionNumber"] = cond(x, degree, unit_columns=True)
            case["scaledConditionNumber"] = cond((x - c) / s, degree, unit_columns=True)
        cases.append(case)

    mse("lesson, degree 2", lx, ly, 2)
    mse("noisy cubic, 200 points, degree 3", cx, cy, 3)
    mse("sine, degree 8 on [-1, 1]", sx, sy, 8)
    mse("heavy tails, degree 4 on [0, 10]", wx, wy, 4)
    mse("ill-conditioned: degree 10 on [0, 1000]", ix, iy, 10, ill=True)

    def mae(name, x, y, degree):
        loss, p = lad_brute_force(x, y, degree)
        cases.append({"name": name, "loss": "mae", "degree": degree, "x": x.tolist(), "y": y.tolist(),
                      "params": p.tolist(), "optimumLoss": loss})

    mae("lesson, degree 2", lx, ly, 2)
    mae("laplace noise, 40 points, degree 2", mx, my, 2)
    mae("lesson, degree 1", lx, ly, 1)
    mae("lesson's first 19 points, degree 0 (the median, unique for an odd count)", lx[:19], ly[:19], 0)
    mae("laplace noise, degree 3", mx[::2], my[::2], 3)

    def hub(name, x, y, degree, delta):
        loss, p = huber_irls(x, y, degree, delta)
        cases.append({"name": name, "loss": "huber", "huberDelta": delta, "degree": degree, "x": x.tolist(), "y": y.tolist(),
                      "params": p.tolist(), "optimumLoss": loss})

    hub("lesson, degree 2, delta 1", lx, ly, 2, 1.0)
    hub("heavy tails, degree 4, delta 1.5", wx, wy, 4, 1.5)
    hub("noisy cubic, degree 3, delta 0.2", cx, cy, 3, 0.2)

    out = os.path.join(DATA, "exact_reference.json")
    with open(out, "w") as f:
        json.dump({"generator": "bench/exact_reference.py", "numpy": np.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
