#!/usr/bin/python3
"""The comparison table of docs/beyond.md, measured against a running service (standard library only).

  /usr/bin/python3 bench/beyond_table.py http://localhost:5080 [--plot docs/images/lr-finder.svg]

For the lesson and two other cases: the learning-rate finder's suggestions (POST /v1/lr-finder), then two fits of the
same problem and steps, one with learningRate "auto" and one at a hand-picked rate, with their gaps to the exact
optimum (the fit resource's gap = loss - optimum.loss). Prints a Markdown table.
"""
import json, math, sys, urllib.request

import numpy as np

BASE = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "http://localhost:5080"


def call(method, path, body=None, wait=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Prefer": f"wait={wait}"})
    with urllib.request.urlopen(req) as r:
        raw = r.read()
        return json.loads(raw) if r.headers.get_content_type() == "application/json" else raw.decode()


def lesson():
    with open("tests/Engine.Tests/Data/lesson.json") as f:
        d = json.load(f)
    return d["x"], d["y"]


def cases():
    lx, ly = lesson()
    rng = np.random.default_rng(7)
    cx = np.sort(rng.uniform(-1.5, 1.5, 200))
    cy = 0.5 * cx**3 - cx**2 + 2 * cx + 1 + rng.normal(0, 0.3, 200)
    sx = np.linspace(-1, 1, 100)
    sy = np.sin(3 * sx) + rng.normal(0, 0.05, 100)
    return [
        ("the lesson: degree 2, MAE, SGD", {"x": lx, "y": ly, "degree": 2, "loss": "mae", "initialParams": [1.1, 1.1, 1.1],
                                           "optimizer": {"type": "sgd"}}, 0.01),
        ("noisy cubic (200 points): degree 3, MSE, SGD", {"x": cx.tolist(), "y": cy.tolist(), "degree": 3, "loss": "mse",
                                                          "optimizer": {"type": "sgd"}}, 0.01),
        ("sine by degree 5: Huber δ 0.5, Adam", {"x": sx.tolist(), "y": sy.tolist(), "degree": 5, "loss": "huber", "huberDelta": 0.5,
                                                 "optimizer": {"type": "adam"}}, 0.01),
    ]


def stable_bound(x, degree):
    v = np.vander(np.array(x), degree + 1)
    return 2 / np.linalg.eigvalsh(2 / len(x) * v.T @ v).max()


def main():
    steps = 1000
    rows = []
    plot_path = sys.argv[sys.argv.index("--plot") + 1] if "--plot" in sys.argv else None
    for i, (name, problem, hand_rate) in enumerate(cases()):
        finder = call("POST", "/v1/lr-finder", {**problem, "label": name})
        if i == 0 and plot_path:
            with open(plot_path, "w") as f:
                f.write(call("GET", f"/v1/lr-finder/{finder['id']}/plot.svg"))
        auto = call("POST", "/v1/fits", {**problem, "learningRate": "auto", "steps": steps})
        hand = call("POST", "/v1/fits", {**problem, "learningRate": hand_rate, "steps": steps})
        bound = stable_bound(problem["x"], problem["degree"]) if problem["loss"] == "mse" else None
        rows.append((name, finder, auto, hand, hand_rate, bound))

    g = lambda v: "–" if v is None else f"{v:.3g}"
    print(f"| case | 2/λmax (MSE) | steep | minimum/10 | chosen (auto) | optimum loss | gap, auto, {steps} steps | gap, hand rate, {steps} steps |")
    print("|---|---|---|---|---|---|---|---|")
    for name, finder, auto, hand, hand_rate, bound in rows:
        s = finder["suggestions"]
        print(f"| {name} | {g(bound)} | {g(s['steep'])} | {g(s['minimum'])} | {g(auto.get('learningRateChosen'))} | "
              f"{g(auto['optimum']['loss'])} | {g(auto['gap'])} | {g(hand['gap'])} (rate {hand_rate}) |")
    for name, finder, auto, hand, *_ in rows:
        print(f"<!-- {name}: finder {finder['id']} stop {finder['stopReason']} after {len(finder['curve'])} steps; "
              f"auto fit {auto['id']} loss {auto['loss']}, hand fit {hand['id']} loss {hand['loss']}, optimum {auto['optimum']['params']} -->")


if __name__ == "__main__":
    main()
