#!/usr/bin/env python3
"""Submit a batch of generated data sets to FitService, wait for it, and write the results as CSV.

Uses the standard-library client in clients/python/fitservice.py. Each data set is a quadratic a·x² + b·x + c with
noise; every fit of the batch shares the defaults (degree 2, MSE, Adam). The results CSV has one row per data set:
label,status,stopReason,loss,p0,p1,p2 (params highest power first). Then, for the first fit: its history, its
prediction at x = 0, 0.5, 1 and, with --plot FILE, its plot.

    FITSERVICE_URL=http://localhost:5080 python3 examples/batch.py --out results.csv --plot first.svg
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
import fitservice  # noqa: E402  (the client lives beside the examples, not installed)


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
    parser.add_argument("--plot", help="write the plot of the first fit (SVG) to this file")
    args = parser.parse_args()

    client = fitservice.Client()
    fits = []
    for k in range(args.sets):
        a, b, c = 1 + k, 2 - k, 0.5 * k
        x, y = data_set(a, b, c, seed=k)
        fits.append({"x": x, "y": y, "label": f"set{k}: {a}x^2 + {b}x + {c}"})
    defaults = {"degree": 2, "loss": "mse", "learningRate": 0.05, "steps": 2000,
                "optimizer": {"type": "adam"}, "historyEvery": 100}

    try:
        batch = client.submit_batch(fits, defaults=defaults)
        print(f"batch {batch['id']}: {batch['total']} fits submitted", file=sys.stderr)

        def progress(b):
            counts = b["counts"]
            print(f"  {counts['succeeded'] + counts['failed'] + counts['cancelled']}/{b['total']} ended", file=sys.stderr)

        batch = client.wait_batch(batch["id"], progress)
        with open(args.out, "w", newline="") as f:
            f.write(client.batch_results_csv(batch["id"]))

        first = batch["fitIds"][0] if batch.get("fitIds") else None
        if first is not None:
            history = client.history(first)
            predicted = client.predict(first, [0.0, 0.5, 1.0])
            print(f"first fit {first}: {len(history)} history entries, last loss {history[-1]:.6g}; "
                  f"f(0), f(0.5), f(1) = {', '.join(f'{v:.6g}' for v in predicted)}")
            if args.plot:
                print(f"plot written to {client.plot(first, args.plot)}")
    except fitservice.FitServiceError as e:
        print(f"FitService: {e}", file=sys.stderr)
        return 3
    except OSError as e:
        print(f"Cannot reach FitService at {client.url}: {e}", file=sys.stderr)
        return 3

    counts = batch["counts"]
    print(f"{counts['succeeded']} succeeded, {counts['failed']} failed, {counts['cancelled']} cancelled; "
          f"results written to {args.out}")
    return 0 if counts["failed"] + counts["cancelled"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
