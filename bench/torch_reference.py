#!/usr/bin/python3
"""PyTorch side of the engine's checks, with Debian's python3-torch (CPU, float64).

  /usr/bin/python3 bench/torch_reference.py reference   # writes tests/Engine.Tests/Data/torch_runs.json
  /usr/bin/python3 bench/torch_reference.py formulas    # writes tests/Engine.Tests/Data/torch_formulas.json
  /usr/bin/python3 bench/torch_reference.py weighted    # writes tests/Engine.Tests/Data/torch_weighted_runs.json
  /usr/bin/python3 bench/torch_reference.py time [--quick] [--only POINTS DEGREE LOSS]  # µs per step (best of 5 runs) of a plain zero_grad/backward/step loop, JSON lines

The model is the engine's: p[0]*x^d + ... + p[d] by Horner's rule, parameters highest power first.
"""
import json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def horner(p, x):
    y = p[0]
    for k in range(1, p.shape[0]):
        y = y * x + p[k]
    return y if y.dim() > 0 else y.expand_as(x)  # degree 0: the constant at every point


def loss_fn(kind, delta, w=None):
    if w is not None:
        # The weighted mean as PyTorch users write it: element-wise losses, (w * loss).sum() / w.sum().
        elementwise = {"mae": F.l1_loss, "mse": F.mse_loss}.get(kind)
        if elementwise is None:
            return lambda pred, y: (w * F.huber_loss(pred, y, delta=delta, reduction="none")).sum() / w.sum()
        return lambda pred, y: (w * elementwise(pred, y, reduction="none")).sum() / w.sum()
    if kind == "mae":
        return lambda pred, y: F.l1_loss(pred, y)
    if kind == "mse":
        return lambda pred, y: F.mse_loss(pred, y)
    return lambda pred, y: F.huber_loss(pred, y, delta=delta)


def optimizer_for(spec, p, lr):
    if spec["type"] == "sgd":
        return torch.optim.SGD([p], lr=lr, momentum=spec.get("momentum", 0.0),
                               dampening=spec.get("dampening", 0.0), nesterov=spec.get("nesterov", False))
    return torch.optim.Adam([p], lr=lr, betas=(spec.get("beta1", 0.9), spec.get("beta2", 0.999)), eps=spec.get("epsilon", 1e-8))


def one_cycle(spec, i, steps):
    # fastai fit_one_cycle: combine_scheds([pct, 1-pct], [SchedCos(max/div, max), SchedCos(max, max/div_final)])
    def sched_cos(start, end, pos):
        return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2
    mx, pct = spec["maxLearningRate"], spec.get("warmupFraction", 0.25)
    pos = i / steps
    if pos < pct:
        return sched_cos(mx / spec.get("div", 25.0), mx, pos / pct)
    return sched_cos(mx, mx / spec.get("divFinal", 1e5), (pos - pct) / (1 - pct))


def run(problem):
    """The reference loop: history[i] = loss before update i; loss = loss at the final params."""
    x, y = torch.tensor(problem["x"]), torch.tensor(problem["y"])
    p = torch.tensor(problem["initialParams"], requires_grad=True)
    w = torch.tensor(problem["weights"]) if "weights" in problem else None
    lf = loss_fn(problem["loss"], problem.get("huberDelta", 1.0), w)
    steps, lr = problem["steps"], problem["learningRate"]
    schedule = problem.get("schedule", {"type": "constant"})
    opt = optimizer_for(problem["optimizer"], p, lr)
    sched = None
    if schedule["type"] == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=schedule["every"], gamma=schedule["gamma"])
    elif schedule["type"] == "exponential":
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=schedule["gamma"])
    elif schedule["type"] == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=schedule.get("minLearningRate", 0.0))
    history = []
    for i in range(steps):
        if schedule["type"] == "oneCycle":
            for g in opt.param_groups:
                g["lr"] = one_cycle(schedule, i, steps)
        opt.zero_grad()
        loss = lf(horner(p, x), y)
        loss.backward()
        history.append(loss.item())
        opt.step()
        if sched is not None:
            sched.step()
    with torch.no_grad():
        final = lf(horner(p, x), y).item()
    return {"history": history, "params": p.detach().tolist(), "loss": final}


def lesson():
    with open(os.path.join(ROOT, "tests", "Engine.Tests", "Data", "lesson.json")) as f:
        d = json.load(f)
    return d["x"], d["y"]


def reference():
    lx, ly = lesson()
    rng = np.random.default_rng(7)
    cx = np.sort(rng.uniform(-1.5, 1.5, 200))
    cy = 0.5 * cx**3 - cx**2 + 2 * cx + 1 + rng.normal(0, 0.3, 200)
    qx = np.linspace(-1, 1, 100)
    qy = np.sin(3 * qx) + rng.normal(0, 0.05, 100)

    def case(name, x, y, degree, loss, lr, steps, init, optimizer, schedule=None, huber_delta=1.0):
        problem = {"x": list(map(float, x)), "y": list(map(float, y)), "degree": degree, "loss": loss,
                   "huberDelta": huber_delta, "learningRate": lr, "steps": steps, "initialParams": init,
                   "optimizer": optimizer, "schedule": schedule or {"type": "constant"}}
        return {"name": name, "problem": problem, "torch": run(problem)}

    cases = [
        case("lesson mae, the notebook's loop (sgd momentum 1)", lx, ly, 2, "mae", 0.01, 30, [1.1, 1.1, 1.1], {"type": "sgd", "momentum": 1.0}),
        case("lesson mse, sgd momentum 0.9 dampening 0.1", lx, ly, 2, "mse", 0.01, 200, [1.1, 1.1, 1.1], {"type": "sgd", "momentum": 0.9, "dampening": 0.1}),
        case("lesson mse, nesterov", lx, ly, 2, "mse", 0.005, 200, [1.1, 1.1, 1.1], {"type": "sgd", "momentum": 0.9, "nesterov": True}),
        case("lesson huber 1.0, adam", lx, ly, 2, "huber", 0.1, 300, [1.1, 1.1, 1.1], {"type": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
        case("lesson huber 2.5, sgd momentum 0.5, step schedule", lx, ly, 2, "huber", 0.02, 200, [0.0, 0.0, 0.0], {"type": "sgd", "momentum": 0.5}, {"type": "step", "every": 50, "gamma": 0.5}, huber_delta=2.5),
        case("lesson mae, plain sgd, exponential schedule", lx, ly, 2, "mae", 0.05, 150, [1.1, 1.1, 1.1], {"type": "sgd"}, {"type": "exponential", "gamma": 0.99}),
        case("cubic mse, adam, cosine schedule", cx, cy, 3, "mse", 0.05, 300, [0.0, 0.0, 0.0, 0.0], {"type": "adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}, {"type": "cosine", "minLearningRate": 0.001}),
        case("cubic mae, adam", cx, cy, 3, "mae", 0.02, 300, [0.1, -0.1, 0.2, 0.0], {"type": "adam"}),
        case("sine by degree 5 mse, sgd momentum 0.9, one cycle", qx, qy, 5, "mse", 0.1, 300, [0.0] * 6, {"type": "sgd", "momentum": 0.9}, {"type": "oneCycle", "maxLearningRate": 0.3, "warmupFraction": 0.25, "div": 25.0, "divFinal": 1e5}),
        case("sine by degree 8 huber 0.5, adam", qx, qy, 8, "huber", 0.01, 200, [0.0] * 9, {"type": "adam"}, huber_delta=0.5),
        case("lesson degree 0 mse, plain sgd", lx, ly, 0, "mse", 0.1, 50, [0.0], {"type": "sgd"}),
    ]
    out = os.path.join(ROOT, "tests", "Engine.Tests", "Data", "torch_runs.json")
    with open(out, "w") as f:
        json.dump({"generator": "bench/torch_reference.py reference", "torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


def weighted():
    """Descents with per-point weights (zeros included), every loss, against PyTorch's (w * loss).sum() / w.sum()."""
    lx, ly = lesson()
    rng = np.random.default_rng(15)
    lw = list(map(float, rng.uniform(0, 3, len(lx))))
    lw[3] = 0.0  # a zero weight: the point does not count
    cx = np.sort(rng.uniform(-1.5, 1.5, 150))
    cy = 0.5 * cx**3 - cx**2 + 2 * cx + 1 + rng.normal(0, 0.3, 150)
    cw = list(map(float, rng.exponential(1.0, 150)))

    def case(name, x, y, w, degree, loss, lr, steps, init, optimizer, huber_delta=1.0):
        problem = {"x": list(map(float, x)), "y": list(map(float, y)), "weights": w, "degree": degree, "loss": loss,
                   "huberDelta": huber_delta, "learningRate": lr, "steps": steps, "initialParams": init,
                   "optimizer": optimizer, "schedule": {"type": "constant"}}
        return {"name": name, "problem": problem, "torch": run(problem)}

    cases = [
        case("lesson weighted mse, sgd momentum 0.9", lx, ly, lw, 2, "mse", 0.01, 200, [1.1, 1.1, 1.1], {"type": "sgd", "momentum": 0.9}),
        case("lesson weighted mae, plain sgd", lx, ly, lw, 2, "mae", 0.05, 150, [1.1, 1.1, 1.1], {"type": "sgd"}),
        case("lesson weighted huber 2.0, adam", lx, ly, lw, 2, "huber", 0.1, 200, [0.0, 0.0, 0.0], {"type": "adam"}, huber_delta=2.0),
        case("cubic weighted mse, adam", cx, cy, cw, 3, "mse", 0.05, 300, [0.0] * 4, {"type": "adam"}),
        case("cubic weighted mae, sgd momentum 0.5", cx, cy, cw, 3, "mae", 0.02, 200, [0.1, -0.1, 0.2, 0.0], {"type": "sgd", "momentum": 0.5}),
        case("lesson weights all 2.5, mse (the plain mean's fit)", lx, ly, [2.5] * len(lx), 2, "mse", 0.01, 100, [1.1, 1.1, 1.1], {"type": "sgd"}),
    ]
    out = os.path.join(ROOT, "tests", "Engine.Tests", "Data", "torch_weighted_runs.json")
    with open(out, "w") as f:
        json.dump({"generator": "bench/torch_reference.py weighted", "torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


FUNCTIONS = {"exp": torch.exp, "log": torch.log, "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh,
             "sqrt": torch.sqrt, "abs": torch.abs}


def formula_fn(formula, names):
    """The formula as PyTorch code: our own test formulas only (eval of ^ as **; the engine never evaluates text)."""
    code = compile(formula.replace("^", "**"), "<formula>", "eval")

    def f(p, x):
        scope = {"x": x, "pi": math.pi, **FUNCTIONS, **{n: p[i] for i, n in enumerate(names)}}
        y = eval(code, {"__builtins__": {}}, scope)
        return y if y.dim() > 0 else y.expand_as(x)
    return f


def run_formula(problem):
    """run() with the formula as the model."""
    f = formula_fn(problem["model"]["formula"], problem["model"]["params"])
    global horner
    saved = horner
    horner = f
    try:
        return run(problem)
    finally:
        horner = saved


def formulas():
    rng = np.random.default_rng(5)
    ex = np.linspace(0, 2, 60)
    ey = 2 * np.exp(-1.3 * ex) + 0.5 + rng.normal(0, 0.03, 60)
    sx = np.linspace(-3, 3, 80)
    sy = 1.5 * np.sin(2 * sx + 0.3) + 0.2 + rng.normal(0, 0.1, 80)
    gx = np.linspace(-4, 4, 50)
    gy = 3 / (1 + np.exp(-1.7 * (gx - 0.5))) + rng.normal(0, 0.05, 50)
    px = np.linspace(0.1, 3, 40)
    py = 1.7 * px ** 1.4 + rng.normal(0, 0.05, 40)
    lx, ly = lesson()

    def case(name, x, y, formula, names, loss, lr, steps, init, optimizer, schedule=None, huber_delta=1.0):
        problem = {"x": list(map(float, x)), "y": list(map(float, y)), "model": {"formula": formula, "params": names},
                   "loss": loss, "huberDelta": huber_delta, "learningRate": lr, "steps": steps, "initialParams": init,
                   "optimizer": optimizer, "schedule": schedule or {"type": "constant"}}
        return {"name": name, "problem": problem, "torch": run_formula(problem)}

    cases = [
        case("exponential decay, mse, sgd", ex, ey, "a*exp(b*x) + c", ["a", "b", "c"], "mse", 0.05, 200, [1.0, -0.5, 0.0], {"type": "sgd"}),
        case("shifted sine, mae, adam", sx, sy, "a*sin(b*x + c) + d", ["a", "b", "c", "d"], "mae", 0.02, 300, [1.0, 1.8, 0.0, 0.0], {"type": "adam"}),
        case("logistic, huber 0.5, sgd momentum 0.9", gx, gy, "k / (1 + exp(-r*(x - x0)))", ["k", "r", "x0"], "huber", 0.05, 200, [1.0, 1.0, 0.0], {"type": "sgd", "momentum": 0.9}, huber_delta=0.5),
        case("power law with a param exponent, mse, adam, cosine", px, py, "a*x^b", ["a", "b"], "mse", 0.05, 200, [1.0, 1.0], {"type": "adam"}, {"type": "cosine", "minLearningRate": 0.001}),
        case("every function, mse, sgd nesterov, step schedule", px, py, "sqrt(abs(a)*x) + log(b + x^2) - tanh(c*x)^2 + cos(d)/2", ["a", "b", "c", "d"], "mse", 0.01, 150, [1.0, 1.0, 0.5, 0.1], {"type": "sgd", "momentum": 0.9, "nesterov": True}, {"type": "step", "every": 50, "gamma": 0.5}),
        case("unary minus and powers, mae, sgd, exponential", sx, sy, "-a*x^2 + b*cos(x)/(c + 2) - -d^2", ["a", "b", "c", "d"], "mae", 0.01, 150, [0.1, 1.0, 0.5, 0.3], {"type": "sgd", "momentum": 0.5}, {"type": "exponential", "gamma": 0.995}),
        case("the lesson as a formula, the notebook's loop", lx, ly, "a*x^2 + b*x + c", ["a", "b", "c"], "mae", 0.01, 30, [1.1, 1.1, 1.1], {"type": "sgd", "momentum": 1.0}),
    ]
    out = os.path.join(ROOT, "tests", "Engine.Tests", "Data", "torch_formulas.json")
    with open(out, "w") as f:
        json.dump({"generator": "bench/torch_reference.py formulas", "torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


def bench_data(n):
    """The same points the C# benchmark makes: x evenly spaced on [-2, 2], y = 3x^2+2x+1 + 1.5 sin(12.9898 i)."""
    i = np.arange(n, dtype=np.float64)
    x = -2.0 + 4.0 * i / max(n - 1, 1)
    y = 3 * x**2 + 2 * x + 1 + 1.5 * np.sin(12.9898 * i)
    return torch.tensor(x), torch.tensor(y)


def time_fits(quick, only=None):
    torch.set_num_threads(2)
    configs = [(20, 2, "mae"), (20, 2, "mse"), (20, 5, "mae"), (20, 5, "mse"),
               (1_000_000, 2, "mae"), (1_000_000, 2, "mse"), (1_000_000, 5, "mae"), (1_000_000, 5, "mse")]
    if only:
        configs = [only]
    for n, degree, loss in configs:
        x, y = bench_data(n)
        lf = loss_fn(loss, 1.0)
        p = torch.zeros(degree + 1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=1e-3)
        steps = (200 if quick else 2000) if n <= 1000 else (3 if quick else 20)
        samples = []
        for rep in range(2 if quick else 5):
            t0 = time.perf_counter()
            for _ in range(steps):
                opt.zero_grad()
                l = lf(horner(p, x), y)
                l.backward()
                opt.step()
            samples.append((time.perf_counter() - t0) / steps * 1e6)
        print(json.dumps({"points": n, "degree": degree, "loss": loss, "usPerStep": min(samples),
                          "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "reference"
    if cmd == "reference":
        reference()
    elif cmd == "formulas":
        formulas()
    elif cmd == "weighted":
        weighted()
    elif cmd == "time":
        only = None
        if "--only" in sys.argv:  # --only POINTS DEGREE LOSS
            k = sys.argv.index("--only")
            only = (int(sys.argv[k + 1]), int(sys.argv[k + 2]), sys.argv[k + 3])
        time_fits("--quick" in sys.argv, only)
    else:
        sys.exit(__doc__)
