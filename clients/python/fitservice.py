"""A small client for FitService, standard library only (numpy arrays when numpy is importable).

    import fitservice
    client = fitservice.Client("http://localhost:5080")          # or FITSERVICE_URL / FITSERVICE_API_KEY
    fit = client.submit(x, y)                                    # any field of POST /v1/fits as a keyword: degree=2, loss="mae", weights=w
    fit = client.wait(fit["id"])                                 # until it has ended
    client.history(fit["id"])                                    # the loss per recorded step (all of it, paged)
    client.predict(fit["id"], [1.5, 2.5])                        # the fitted model at new x
    client.plot(fit["id"], "fit.svg")                            # the plot of the points and the curve

Arrays come back as numpy arrays when numpy is importable, else as lists; anything with tolist() (numpy arrays) or any
iterable of numbers goes in. Every error of the service raises FitServiceError with its problem details.
"""
import json
import os
import urllib.error
import urllib.parse
import urllib.request

try:
    import numpy as _np
except ImportError:  # the client works without it
    _np = None

__all__ = ["Client", "FitServiceError", "ENDED"]

ENDED = ("succeeded", "failed", "cancelled")


class FitServiceError(Exception):
    """An answer of the service that is not a success: its HTTP status and problem details (title, detail, errors)."""

    def __init__(self, status, problem):
        self.status = status
        self.problem = problem if isinstance(problem, dict) else {"detail": str(problem)}
        lines = [f"{self.problem.get('title', 'error')} (HTTP {status})"]
        if self.problem.get("detail"):
            lines.append(str(self.problem["detail"]))
        for field, messages in (self.problem.get("errors") or {}).items():
            lines.extend(f"{field}: {m}" for m in messages)
        super().__init__("\n  ".join(lines))

    @property
    def errors(self):
        """Field → messages, for a 400."""
        return self.problem.get("errors") or {}


def _numbers(values):
    """A JSON-ready list of floats from a list, a tuple, a numpy array or any iterable of numbers."""
    if values is None:
        return None
    if hasattr(values, "tolist"):
        values = values.tolist()
    return [float(v) for v in values]


def _array(values):
    return _np.asarray(values, dtype=float) if _np is not None and values is not None else values


class Client:
    """One service. Thread-safe (each call opens its own connection)."""

    def __init__(self, url=None, api_key=None, timeout=60):
        self.url = (url or os.environ.get("FITSERVICE_URL") or "http://localhost:5080").rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("FITSERVICE_API_KEY")
        self.timeout = timeout

    # --- HTTP -----------------------------------------------------------------------------------------------------
    def _request(self, method, path, body=None, accept="application/json", wait=None, raw=False, extra_headers=None):
        headers = {"Accept": accept, **(extra_headers or {})}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, allow_nan=False).encode()
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if wait:
            headers["Prefer"] = f"wait={int(wait)}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=(wait or 0) + self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                problem = json.loads(text)
            except ValueError:
                problem = {"detail": text[:500]}
            raise FitServiceError(e.code, problem) from None
        if raw:
            return payload
        return json.loads(payload) if payload else None

    # --- fits -----------------------------------------------------------------------------------------------------
    def submit(self, x, y, weights=None, idempotency_key=None, **fields):
        """POST /v1/fits: x, y (and weights) plus any other field (degree=2, loss="mae", learningRate=0.01, solver="exact", ...)."""
        body = {"x": _numbers(x), "y": _numbers(y), **fields}
        if weights is not None:
            body["weights"] = _numbers(weights)
        extra = None if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        return self._request("POST", "/v1/fits", body, extra_headers=extra)

    def get(self, fit_id, wait=None):
        """GET /v1/fits/{id}; with wait (seconds, at most 60) the service answers once the fit has ended or the time is up."""
        return self._request("GET", f"/v1/fits/{urllib.parse.quote(fit_id)}", wait=wait)

    def wait(self, fit_id, timeout=None, optimum=False):
        """The fit once it has ended (and, with optimum=True, once its optimum is no longer pending); None past timeout seconds."""
        import time
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            fit = self.get(fit_id, wait=30)
            if fit["status"] in ENDED and not (optimum and fit.get("optimumStatus") == "pending"):
                return fit
            if deadline is not None and time.monotonic() > deadline:
                return None
            if fit["status"] in ENDED:
                time.sleep(0.2)  # only the optimum is left: it is stored just after the end

    def fit(self, x, y, weights=None, **fields):
        """submit() then wait(): the ended fit."""
        return self.wait(self.submit(x, y, weights=weights, **fields)["id"])

    def history(self, fit_id, page=100_000):
        """The recorded loss history, all of it (paged from /history): an array of losses (None where not finite)."""
        losses, offset = [], 0
        while True:
            answer = self._request("GET", f"/v1/fits/{urllib.parse.quote(fit_id)}/history?offset={offset}&limit={page}")
            items = answer["items"]
            losses.extend(item["loss"] for item in items)
            offset += len(items)
            if not items or offset >= answer["total"]:
                break
        return _array([float("nan") if v is None else v for v in losses]) if _np is not None else losses

    def predict(self, fit_id, x):
        """The fitted model at the given x (POST /v1/fits/{id}/predict)."""
        answer = self._request("POST", f"/v1/fits/{urllib.parse.quote(fit_id)}/predict", {"x": _numbers(x)})
        return _array([float("nan") if v is None else v for v in answer["y"]]) if _np is not None else answer["y"]

    def plot(self, fit_id, path):
        """Writes the plot of the points and the fitted curve (SVG) to path; returns path."""
        svg = self._request("GET", f"/v1/fits/{urllib.parse.quote(fit_id)}/plot.svg", accept="image/svg+xml", raw=True)
        with open(path, "wb") as f:
            f.write(svg)
        return path

    def delete(self, fit_id):
        self._request("DELETE", f"/v1/fits/{urllib.parse.quote(fit_id)}")

    # --- batches --------------------------------------------------------------------------------------------------
    def submit_batch(self, fits, defaults=None, label=None):
        """POST /v1/batches: fits is a list of dicts ({"x": ..., "y": ..., "label": ...}); defaults apply to every fit."""
        items = []
        for f in fits:
            item = dict(f)
            for key in ("x", "y", "weights"):
                if key in item:
                    item[key] = _numbers(item[key])
            items.append(item)
        body = {"fits": items}
        if defaults:
            body["defaults"] = defaults
        if label:
            body["label"] = label
        return self._request("POST", "/v1/batches", body)

    def wait_batch(self, batch_id, progress=None):
        """The batch once every fit has ended; progress(batch) is called after each wait."""
        while True:
            batch = self._request("GET", f"/v1/batches/{urllib.parse.quote(batch_id)}", wait=30)
            counts = batch["counts"]
            if progress:
                progress(batch)
            if counts["succeeded"] + counts["failed"] + counts["cancelled"] >= batch["total"]:
                return batch

    def batch_results_csv(self, batch_id):
        """The batch's results as CSV text (one row per fit)."""
        return self._request("GET", f"/v1/batches/{urllib.parse.quote(batch_id)}/results", accept="text/csv", raw=True).decode()
