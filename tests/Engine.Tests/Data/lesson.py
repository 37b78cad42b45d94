# Regenerates lesson.json: the fast.ai lesson's 20 points (numpy seed 42), as in the notebook.
# Run with Debian's interpreter: /usr/bin/python3 tests/Engine.Tests/Data/lesson.py
import json, os
import numpy as np

np.random.seed(42)

def f(x): return 3 * x**2 + 2 * x + 1

def add_noise(x, mult, add):
    return x * (1 + np.random.normal(scale=mult, size=x.shape)) + np.random.normal(scale=add, size=x.shape)

x = np.linspace(-2, 2, 20)
y = add_noise(f(x), 0.15, 1.5)
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "lesson.json"), "w") as out:
    json.dump({"source": "fast.ai lesson: x = linspace(-2, 2, 20), y = f(x)*(1+N(0,0.15)) + N(0,1.5), f = 3x^2+2x+1, numpy seed 42",
               "x": x.tolist(), "y": y.tolist()}, out, indent=1)
    out.write("\n")
