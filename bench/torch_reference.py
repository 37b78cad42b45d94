#!/usr/bin/python3
"""PyTorch side of the engine's checks, with Debian's python3-torch (CPU, float64).

  /usr/bin/python3 bench/torch_reference.py reference   # writes tests/Engine.Tests/Data/torch_runs.json
  /usr/bin/python3 bench/torch_reference.py formulas    # writes tests/Engine.Tests/Data/torch_formulas.json
  /usr/bin/python3 bench/torch_reference.py time [--quick] [--only POINTS DEGREE LOSS]  # µs per step (best of 5 runs) of a plain zero_grad/backward/step loop, JSON lines
  /usr/bin/python3 bench/torch_reference.py networks    # writes tests/Engine.Tests/Data/torch_networks.json
  /usr/bin/python3 bench/torch_reference.py time-network [--points N] [--units K] [--steps S] [--threads T]  # µs per full-batch step of relu K on N points

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


def loss_fn(kind, delta):
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
    lf = loss_fn(problem["loss"], problem.get("huberDelta", 1.0))
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


# ---- networks: nn.Sequential of nn.Linear + activation, with the engine's generator, init, batches and standardization ----

M64 = (1 << 64) - 1


class NetworkRandom:
    """xoshiro256** seeded by SplitMix64: the engine's NetworkRandom (src/Engine/Networks/NetworkRandom.cs)."""
    SHUFFLE_STREAM = 0xD1B54A32D192ED03

    def __init__(self, seed):
        s = seed & M64
        self.s = []
        for _ in range(4):
            s = (s + 0x9E3779B97F4A7C15) & M64
            z = s
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def rotl(v, k):
        return ((v << k) | (v >> (64 - k))) & M64

    def next(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * (1.0 / (1 << 53))

    def below(self, n):
        return (self.next() * n) >> 64

    def permutation(self, n):
        order = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            order[i], order[j] = order[j], order[i]
        return order


def widths(hidden, features):
    return [features] + list(hidden) + [1]


def initial_params(hidden, features, seed):
    """PyTorch's nn.Linear default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from NetworkRandom(seed), in state_dict order."""
    rng = NetworkRandom(seed)
    out = []
    w = widths(hidden, features)
    for l in range(len(w) - 1):
        bound = 1 / math.sqrt(w[l])
        for _ in range(w[l] * w[l + 1] + w[l + 1]):
            out.append(-bound + 2.0 * bound * rng.uniform())
    return out


def sequential(hidden, features, activation):
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[activation]
    w = widths(hidden, features)
    layers = []
    for l in range(len(w) - 1):
        layers.append(torch.nn.Linear(w[l], w[l + 1]))
        if l + 2 < len(w):
            layers.append(act())
    return torch.nn.Sequential(*layers)


def load_flat(model, flat):
    with torch.no_grad():
        k = 0
        for p in model.parameters():
            n = p.numel()
            p.copy_(torch.tensor(flat[k:k + n]).reshape(p.shape))
            k += n


def network_loss_fn(kind, delta):
    if kind == "bce":
        return lambda z, y: F.binary_cross_entropy_with_logits(z, y)
    return loss_fn(kind, delta)


def standardize(x):
    """sklearn's StandardScaler: population std, scale 1 for a constant column."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std, mean, std


def run_network(problem):
    """history[i] = loss of step i's batch before update i (or per epoch: the batch losses weighted by their sizes)."""
    d = problem["features"]
    X = np.array(problem["x"], dtype=np.float64).reshape(-1, d)
    Y = np.array(problem["y"], dtype=np.float64)
    if problem.get("standardize"):
        X, _, _ = standardize(X)
    n = len(Y)
    model_spec = problem["model"]
    hidden = model_spec.get("layers", [model_spec["units"]] if model_spec["type"] == "relu" else [])
    model = sequential(hidden, d, model_spec.get("activation", "relu"))
    init = problem.get("initialParams") or initial_params(hidden, d, problem.get("seed", 0))
    load_flat(model, init)
    lf = network_loss_fn(problem["loss"], problem.get("huberDelta", 1.0))
    steps, lr = problem["steps"], problem["learningRate"]
    schedule = problem.get("schedule", {"type": "constant"})
    spec = problem["optimizer"]
    params = list(model.parameters())
    if spec["type"] == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=spec.get("momentum", 0.0), dampening=spec.get("dampening", 0.0), nesterov=spec.get("nesterov", False))
    else:
        opt = torch.optim.Adam(params, lr=lr, betas=(spec.get("beta1", 0.9), spec.get("beta2", 0.999)), eps=spec.get("epsilon", 1e-8))
    sched = None
    if schedule["type"] == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=schedule["every"], gamma=schedule["gamma"])
    elif schedule["type"] == "exponential":
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=schedule["gamma"])
    elif schedule["type"] == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=schedule.get("minLearningRate", 0.0))
    batch = min(problem.get("batchSize") or n, n)
    per_epoch = (n + batch - 1) // batch
    shuffle = NetworkRandom(problem.get("seed", 0) ^ NetworkRandom.SHUFFLE_STREAM) if problem.get("shuffle") else None
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    history, epoch_sum, epoch_points, order = [], 0.0, 0, list(range(n))
    for i in range(steps):
        b = i % per_epoch
        if b == 0 and shuffle is not None:
            order = shuffle.permutation(n)
        idx = torch.tensor(order[b * batch:min((b + 1) * batch, n)])
        if schedule["type"] == "oneCycle":
            for g in opt.param_groups:
                g["lr"] = one_cycle(schedule, i, steps)
        opt.zero_grad()
        loss = lf(model(Xt[idx]).squeeze(1), Yt[idx])
        loss.backward()
        if problem.get("historyPerEpoch"):
            epoch_sum += loss.item() * len(idx)
            epoch_points += len(idx)
            if b == per_epoch - 1 or i == steps - 1:
                history.append(epoch_sum / epoch_points)
                epoch_sum, epoch_points = 0.0, 0
        else:
            history.append(loss.item())
        opt.step()
        if sched is not None:
            sched.step()
    with torch.no_grad():
        final = lf(model(Xt).squeeze(1), Yt).item()
        flat = torch.cat([p.detach().flatten() for p in model.parameters()]).tolist()
    return {"history": history, "params": flat, "loss": final, "initialParams": init}


def titanic_like(rows, seed):
    """src/Engine/TitanicLikeData.cs, draw for draw."""
    rng = NetworkRandom(seed)
    x, y = [], []
    for _ in range(rows):
        u = rng.uniform()
        pclass = 1 if u < 0.25 else 2 if u < 0.45 else 3
        sex = 1.0 if rng.uniform() < 0.35 else 0.0
        age = 1 + 69 * rng.uniform()
        sibsp = rng.below(4)
        parch = rng.below(3)
        f = rng.uniform()
        fare = {1: 60 + 200 * f, 2: 15 + 30 * f, 3: 5 + 20 * f}[pclass]
        p = 0.15 + 0.55 * sex + (0.2 if pclass == 1 else 0.1 if pclass == 2 else 0.0) - 0.003 * (age - 30) - 0.05 * sibsp
        p = min(max(p, 0.02), 0.98)
        y.append(1.0 if rng.uniform() < p else 0.0)
        x.extend([float(pclass), sex, age, float(sibsp), float(parch), fare])
    return x, y


def networks():
    lx, ly = lesson()
    rng = np.random.default_rng(11)
    fx = rng.normal(0, 1, (120, 5)) * np.array([1.0, 3.0, 0.5, 10.0, 2.0]) + np.array([0.0, 5.0, -1.0, 50.0, 0.0])
    fy = fx @ np.array([1.5, -0.4, 2.0, 0.05, 0.7]) + 0.3 + rng.normal(0, 0.2, 120)
    tx, ty = titanic_like(400, 2026)

    def case(name, x, y, features, model, loss, lr, steps, optimizer, schedule=None, huber_delta=1.0, **extra):
        problem = {"x": list(map(float, x)), "y": list(map(float, y)), "features": features, "model": model, "loss": loss,
                   "huberDelta": huber_delta, "learningRate": lr, "steps": steps, "optimizer": optimizer,
                   "schedule": schedule or {"type": "constant"}, **extra}
        return {"name": name, "problem": problem, "torch": run_network(problem)}

    relu = lambda k: {"type": "relu", "units": k}
    mlp = lambda layers, act: {"type": "mlp", "layers": layers, "activation": act}
    cases = [
        case("lesson relu 2, mse, plain sgd", lx, ly, 1, relu(2), "mse", 0.01, 200, {"type": "sgd"}, seed=1),
        case("lesson relu 8, mse, sgd momentum 0.9", lx, ly, 1, relu(8), "mse", 0.005, 300, {"type": "sgd", "momentum": 0.9}, seed=2),
        case("lesson relu 32, mse, adam, cosine", lx, ly, 1, relu(32), "mse", 0.02, 300, {"type": "adam"}, {"type": "cosine", "minLearningRate": 0.001}, seed=3),
        case("lesson relu 8, mae, nesterov, batches of 6 shuffled, step schedule", lx, ly, 1, relu(8), "mae", 0.01, 120, {"type": "sgd", "momentum": 0.9, "nesterov": True}, {"type": "step", "every": 40, "gamma": 0.5}, seed=4, batchSize=6, shuffle=True),
        case("lesson relu 32, huber, sgd momentum 0.5 dampening 0.1, one cycle, given init", lx, ly, 1, relu(32), "huber", 0.01, 150, {"type": "sgd", "momentum": 0.5, "dampening": 0.1}, {"type": "oneCycle", "maxLearningRate": 0.02}, huber_delta=2.0, initialParams=initial_params([32], 1, 99)),
        case("lesson mlp 16,16 tanh, mse, adam, batches of 8 in order, exponential", lx, ly, 1, mlp([16, 16], "tanh"), "mse", 0.01, 200, {"type": "adam", "beta1": 0.8, "beta2": 0.99}, {"type": "exponential", "gamma": 0.995}, seed=5, batchSize=8),
        case("lesson mlp 16,16 sigmoid, mse, sgd momentum 0.9", lx, ly, 1, mlp([16, 16], "sigmoid"), "mse", 0.05, 200, {"type": "sgd", "momentum": 0.9}, seed=6),
        case("linear on 5 features, mse, sgd, standardized", fx.flatten(), fy, 5, {"type": "linear"}, "mse", 0.1, 100, {"type": "sgd"}, seed=7, standardize=True),
        case("linear on 5 features raw, mse, adam, batches of 32 shuffled", fx.flatten(), fy, 5, {"type": "linear"}, "mse", 0.05, 150, {"type": "adam"}, seed=8, batchSize=32, shuffle=True),
        case("titanic-like linear, bce, sgd, standardized", tx, ty, 6, {"type": "linear"}, "bce", 0.5, 100, {"type": "sgd"}, seed=9, standardize=True),
        case("titanic-like mlp 16,8 relu, bce, adam, batches of 64 shuffled, history per epoch", tx, ty, 6, mlp([16, 8], "relu"), "bce", 0.01, 70, {"type": "adam"}, seed=10, standardize=True, batchSize=64, shuffle=True, historyPerEpoch=True),
        case("titanic-like mlp 16 tanh, bce, sgd momentum 0.9, batches of 50", tx, ty, 6, mlp([16], "tanh"), "bce", 0.05, 120, {"type": "sgd", "momentum": 0.9}, seed=11, standardize=True, batchSize=50),
    ]
    out = os.path.join(ROOT, "tests", "Engine.Tests", "Data", "torch_networks.json")
    g = NetworkRandom(42)
    generator = {"seed": 42, "next": [str(g.next()) for _ in range(4)], "uniform": [g.uniform() for _ in range(3)],
                 "below10": [g.below(10) for _ in range(5)], "permutation10": g.permutation(10)}
    titanic = {"rows": 400, "seed": 2026, "x": tx, "y": ty}
    with open(out, "w") as f:
        json.dump({"generator": "bench/torch_reference.py networks", "torch": torch.__version__, "random": generator,
                   "titanicLike": titanic, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


def time_network(n, units, steps, threads):
    """µs per full-batch step of nn.Sequential(Linear(1, K), ReLU, Linear(K, 1)), MSE, plain SGD, float64 eager (best of 5)."""
    torch.set_num_threads(threads)
    x, y = bench_data(n)
    x = x.unsqueeze(1)
    model = sequential([units], 1, "relu")
    load_flat(model, initial_params([units], 1, 0))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    samples = []
    for rep in range(6):
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            l = F.mse_loss(model(x).squeeze(1), y)
            l.backward()
            opt.step()
        if rep > 0:  # the first run warms up
            samples.append((time.perf_counter() - t0) / steps * 1e6)
    print(json.dumps({"points": n, "units": units, "usPerStep": min(samples), "medianUsPerStep": sorted(samples)[len(samples) // 2],
                      "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "reference"
    if cmd == "reference":
        reference()
    elif cmd == "formulas":
        formulas()
    elif cmd == "networks":
        networks()
    elif cmd == "time-network":
        def arg(name, default):
            return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default
        time_network(arg("--points", 10_000), arg("--units", 32), arg("--steps", 200), arg("--threads", 2))
    elif cmd == "time":
        only = None
        if "--only" in sys.argv:  # --only POINTS DEGREE LOSS
            k = sys.argv.index("--only")
            only = (int(sys.argv[k + 1]), int(sys.argv[k + 2]), sys.argv[k + 3])
        time_fits("--quick" in sys.argv, only)
    else:
        sys.exit(__doc__)
