#!/usr/bin/env python3
"""Submit a batch of generated data sets to FitService, wait for it, and write the results as CSV.

Standard library only. Each data set is a quadratic a·x² + b·x + c with noise; every fit of the batch
shares the defaults (degree 2, MSE, Adam). The results CSV has one row per data set:
label,status,stopReason,loss,p0,p1,p2 (params highest power first).

    FITSERVICE_URL=http://localhost:5080 python3 examples/batch.py --out results.csv
"""
import argparse
import json
import os
import random
import sys
import urllib.error
import urllib.request

SERVER = os.environ.get("FITSERVICE_URL", "http://localhost:5080").rstrip("/")
API_KEY = os.environ.get("FITSERVICE_API_KEY")


def request(method, path, body=None, accept="application/json", wait=None):
    """One HTTP exchange; returns the body as text, or exits with the service's problem details."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if API_KEY:
        headers["Authorization"] = f"Bearer {API_KEY}"
    if wait:
        headers["Prefer"] = f"wait={wait}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(SERVER + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=(wait or 0) + 30) as response:
            return response.read().decode()
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            problem = json.loads(text)
            print(f"FitService: {problem.get('title', 'error')} (HTTP {e.code})", file=sys.stderr)
            if problem.get("detail"):
                print(f"  {problem['detail']}", file=sys.stderr)
            for field, messages in (problem.get("errors") or {}).items():
                for message in messages:
                    print(f"  {field}: {message}", file=sys.stderr)
        except ValueError:
            print(f"FitService answered HTTP {e.code}: {text[:300]}", file=sys.stderr)
        sys.exit(3)
    except urllib.error.URLError as e:
        print(f"Cannot reach FitService at {SERVER}: {e.reason}", file=sys.stderr)
        sys.exit(3)


def data_set(a, b, c, seed, n=50):
    """n points of a·x² + b·x + c on [-2, 2] with Gaussian noise (sd 0.5), reproducible from seed."""
    rng = random.Random(seed)
    x = [-2 + 4 * i / (n - 1) for i in range(n)]
    y = [a * v * v + b * v + c + rng.gauss(0, 0.5) for v in x]
    return x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results.csv", help="where to write the results CSV (default results.csv)")
    parser.add_argument("--sets", type=int, default=5, help="how many data sets to generate (default 5)")
    args = parser.parse_args()

    fits = []
    for k in range(args.sets):
        a, b, c = 1 + k, 2 - k, 0.5 * k
        x, y = data_set(a, b, c, seed=k)
        fits.append({"x": x, "y": y, "label": f"set{k}: {a}x^2 + {b}x + {c}"})
    defaults = {"degree": 2, "loss": "mse", "learningRate": 0.05, "steps": 2000,
                "optimizer": {"type": "adam"}, "historyEvery": 100}

    batch = json.loads(request("POST", "/v1/batches", {"defaults": defaults, "fits": fits}))
    print(f"batch {batch['id']}: {batch['total']} fits submitted", file=sys.stderr)

    # Each GET waits up to 30 s for the batch to end (Prefer: wait); loop until every fit has ended.
    def ended(b):
        counts = b["counts"]
        return counts["succeeded"] + counts["failed"] + counts["cancelled"] >= b["total"]

    while not ended(batch):
        batch = json.loads(request("GET", f"/v1/batches/{batch['id']}", wait=30))
        counts = batch["counts"]
        print(f"  {counts['succeeded'] + counts['failed'] + counts['cancelled']}/{batch['total']} ended", file=sys.stderr)

    csv_text = request("GET", f"/v1/batches/{batch['id']}/results", accept="text/csv")
    with open(args.out, "w", newline="") as f:
        f.write(csv_text)
    counts = batch["counts"]
    print(f"{counts['succeeded']} succeeded, {counts['failed']} failed, {counts['cancelled']} cancelled; "
          f"results written to {args.out}")
    return 0 if counts["failed"] + counts["cancelled"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
