"""Checks clients/python/fitservice.py against a live service (run by FitctlAgainstLiveServiceTests; FITSERVICE_URL set).

Usage: python3 python_client_check.py PLOT_PATH — exits 0 and prints "ok (numpy)" or "ok (lists)", else fails an assert.
"""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "clients", "python"))
import fitservice  # noqa: E402

plot_path = sys.argv[1]
client = fitservice.Client()
x = [-2 + 0.25 * i for i in range(17)]
y = [3 * v * v + 2 * v + 1 for v in x]
w = [1.0] * 16 + [0.0]
y[-1] = 1000.0  # weight 0: left out of the fit

fit = client.wait(client.submit(x, y, weights=w, degree=2, learningRate=0.01, steps=50, label="python client check")["id"])
assert fit["status"] == "succeeded", fit
assert fit["request"]["weighted"] is True, fit["request"]

history = client.history(fit["id"])
assert len(history) == 50, len(history)
assert history[-1] < history[0], (history[0], history[-1])

p = fit["params"]
predicted = client.predict(fit["id"], [0.0, 1.5])
for xv, yv in zip([0.0, 1.5], predicted):
    expected = p[0] * xv * xv + p[1] * xv + p[2]
    assert math.isclose(yv, expected, rel_tol=1e-12, abs_tol=1e-12), (xv, yv, expected)

exact = client.fit(x, y, weights=w, solver="exact")
assert all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(exact["params"], [3.0, 2.0, 1.0])), exact["params"]

assert client.plot(fit["id"], plot_path) == plot_path
with open(plot_path, "rb") as f:
    assert f.read(5) == b"<?xml"

try:
    client.submit(x, y, weights=[1.0, -1.0])
    raise AssertionError("a bad weights array was accepted")
except fitservice.FitServiceError as e:
    assert e.status == 400 and "weights" in e.errors, (e.status, e.problem)

kind = "numpy" if type(history).__module__ == "numpy" else "lists"
assert kind == ("numpy" if fitservice._np is not None else "lists")
print(f"ok ({kind})")
