#!/usr/bin/env python3
"""Real answers of a live FitService checked against the OpenAPI document it serves, as an outside checker would.

    python3 conformance.py BASE_URL OPENAPI_JSON

Drives the service through every operation (every kind of fit and its ends, finder runs, batches and their results, history
pages, evaluate, predict, plots, deliveries, events, odd requests, and problem details of every status it can answer) and
checks each answer: its status is documented for the operation, its media type is documented for that status, its body is
valid against that schema under OpenAPI 3.0.3 semantics (openapi-schema-validator's strict reading: `nullable` only adds null
to the `type` of its own schema object) and names no field the schema does not (problem details excepted), the headers it
sends are documented; every request the service accepted is valid against the request schema, and query parameters at their
schema's bounds are accepted (a schema stricter than the service lies too). Prints one line per failure and
"N answers validated"; exits 1 on any failure.

The service is expected to run with Limits:MaxPoints=1000, Limits:MaxWork=1000000000 and Limits:MaxActiveFitsPerTenant=6
(so that 413, 422 and 429 are reachable with small requests), a Webhooks:SigningSecret, Webhooks:AllowedHosts:0=192.0.2.10
(a documentation address: deliveries never arrive). With FITSERVICE_API_KEY set, every request sends it as a Bearer key, and
requests without a key and with a wrong one must be documented 401s.
"""
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request

from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from openapi_schema_validator import oas30_format_checker

BASE, DOC_PATH = sys.argv[1].rstrip("/"), sys.argv[2]
DOC = json.load(open(DOC_PATH, encoding="utf-8"))
API_KEY = os.environ.get("FITSERVICE_API_KEY")
failures = []
validated = 0
seen = set()  # (operationId, status, media type) answered at least once

# Response headers a client relies on; each one sent must be documented on its response.
CONTRACT_HEADERS = ["location", "retry-after", "etag", "preference-applied", "idempotent-replayed", "www-authenticate"]


def fail(message):
    failures.append(message)
    print("FAIL " + message, flush=True)


def operation_for(method, path):
    """The document's operation for a concrete path (templates matched segment by segment)."""
    parts = path.split("?")[0].strip("/").split("/")
    for template, item in DOC["paths"].items():
        segments = template.strip("/").split("/")
        if len(segments) != len(parts):
            continue
        if all(s == p or (s.startswith("{") and s.endswith("}")) for s, p in zip(segments, parts)):
            if method.lower() in item:
                return template, item[method.lower()]
            return template, None
    return None, None


def closed(node):
    """The components with every object schema closed (additionalProperties: false), except problem details, whose extension
    members (traceId, work, …) are open by design: an answer must not carry a field the document does not name."""
    if isinstance(node, dict):
        node = {k: closed(v) for k, v in node.items()}
        if "properties" in node and "additionalProperties" not in node and "allOf" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [closed(v) for v in node]
    return node


CLOSED_COMPONENTS = {"schemas": {name: schema if "ProblemDetails" in name else closed(schema)
                                 for name, schema in DOC["components"]["schemas"].items()}}


def schema_validator(schema, write=False):
    root = dict(schema)
    root["components"] = DOC["components"] if write else CLOSED_COMPONENTS
    cls = OAS30WriteValidator if write else OAS30ReadValidator
    return cls(root, format_checker=oas30_format_checker)


def validate(schema, instance, where, write=False):
    global validated
    errors = sorted(schema_validator(schema, write).iter_errors(instance), key=lambda e: list(e.absolute_path))
    for error in errors[:5]:
        while error.context:  # the innermost reason of a oneOf that matched no branch
            error = sorted(error.context, key=lambda e: -len(e.absolute_path))[0]
        path = "/".join(str(p) for p in error.absolute_path)
        fail(f"{where}: at /{path}: {error.message[:200]}")
    validated += 1
    return not errors


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    @property
    def media_type(self):
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()


def call(method, path, body=None, headers=None, content_type=None, check=True, request_schema=True, key=None):
    """Sends one request (with the API key, if any, unless another is given) and checks its answer against the document."""
    data = None
    headers = dict(headers or {})
    key = key if key is not None else API_KEY
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if body is not None:
        if isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
            content_type = content_type or "application/json"
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        answer = Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
    if check and method == "HEAD":
        check_head(path, answer)
    elif check:
        check_answer(method, path, answer)
        if request_schema and 200 <= answer.status < 300 and isinstance(body, (dict, list)):
            check_request(method, path, body)
    return answer


def check_head(path, answer):
    """HEAD is not an operation of the document: it answers as the GET would, without a body."""
    _, operation = operation_for("GET", path)
    if operation is None or str(answer.status) not in operation["responses"]:
        fail(f"HEAD {path} -> {answer.status}: not a status the GET documents")
    if answer.body:
        fail(f"HEAD {path}: a body")


def check_request(method, path, body):
    template, operation = operation_for(method, path)
    media = ((operation or {}).get("requestBody") or {}).get("content", {}).get("application/json")
    if media is None:
        fail(f"{method} {path}: accepted a JSON body the document does not describe")
        return
    validate(media["schema"], body, f"{method} {template} request (accepted by the service)", write=True)


def check_answer(method, path, answer):
    template, operation = operation_for(method, path)
    where = f"{method} {path} -> {answer.status}"
    if operation is None:
        if answer.status in (404, 405) and answer.media_type == "application/problem+json":
            check_problem(where, answer)
            return
        fail(f"{where}: no such operation in the document")
        return
    responses = operation["responses"]
    response = responses.get(str(answer.status)) or responses.get(f"{str(answer.status)[0]}XX") or responses.get("default")
    if response is None:
        fail(f"{where}: status {answer.status} is not documented for {operation['operationId']}")
        if answer.status >= 400:
            check_problem(where, answer)
        return
    seen.add((operation["operationId"], answer.status, answer.media_type))
    for header in CONTRACT_HEADERS:
        if header in answer.headers and header not in {h.lower() for h in response.get("headers", {})}:
            fail(f"{where}: header {header} is sent but not documented on {operation['operationId']} {answer.status}")
    for header, spec in response.get("headers", {}).items():
        if spec.get("required") and header.lower() not in answer.headers:
            fail(f"{where}: required header {header} is missing")
    content = response.get("content") or {}
    if not answer.body:
        if content and method != "HEAD" and answer.status != 304:
            fail(f"{where}: empty body, but the document promises {list(content)}")
        return
    if not content:
        fail(f"{where}: a {answer.media_type} body where the document promises none")
        return
    media = content.get(answer.media_type)
    if media is None:
        fail(f"{where}: media type {answer.media_type} is not documented (documented: {list(content)})")
        return
    schema = media.get("schema") or {}
    if answer.media_type in ("application/json", "application/problem+json"):
        try:
            instance = answer.json()
        except ValueError as error:
            fail(f"{where}: not JSON: {error}")
            return
        validate(schema, instance, f"{where} {answer.media_type}")
        if answer.status >= 400:
            check_problem(where, answer)
    elif answer.media_type == "application/x-ndjson":
        for i, line in enumerate(answer.body.decode().splitlines()):
            validate({"$ref": "#/components/schemas/BatchResult"}, json.loads(line), f"{where} line {i}")
    elif answer.media_type == "text/event-stream":
        check_events(where, answer.body.decode())
    else:
        if schema.get("type") != "string":
            fail(f"{where}: {answer.media_type} body with a schema that is not a string")


def check_problem(where, answer):
    if answer.media_type != "application/problem+json":
        fail(f"{where}: an error without problem details ({answer.media_type or 'no body'})")
        return
    body = answer.json()
    for member in ("type", "title", "status"):
        if member not in body:
            fail(f"{where}: problem details without {member}")
    if body.get("status") != answer.status:
        fail(f"{where}: problem status {body.get('status')} differs from the HTTP status")


def check_events(where, text):
    schemas = {"progress": "FitProgressEvent", "end": "FitResource"}
    event = None
    for line in text.splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event in schemas:
            name = schemas[event]
            if name not in DOC["components"]["schemas"]:
                fail(f"{where}: the {event} event's schema {name} is not in the document")
                continue
            validate({"$ref": f"#/components/schemas/{name}"}, json.loads(line[5:]), f"{where} event {event}")


# ---------------------------------------------------------------- data
X = [-2 + 4 * i / 19 for i in range(20)]
Y = [3 * x * x + 2 * x + 1 + 0.5 * math.sin(7 * x) for x in X]
ROWS = [[(i % 7) / 3.0, ((i * 5) % 11) / 4.0] for i in range(40)]
LABELS = [1.0 if r[0] + 0.5 * r[1] > 2.2 else 0.0 for r in ROWS]
LINEAR_Y = [2 * r[0] - r[1] + 0.5 for r in ROWS]
WAIT = {"Prefer": "wait=60"}


def fit(body, wait=True, **headers):
    answer = call("POST", "/v1/fits", body, {**(WAIT if wait else {}), **headers})
    if answer.status not in (201, 202):
        fail(f"POST /v1/fits {json.dumps(body)[:120]}: {answer.status} {answer.body[:300]!r}")
        return None
    return answer.json()


def wait_for(fit_id, resource="fits", seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = call("GET", f"/v1/{resource}/{fit_id}", headers=WAIT).json()
        if body.get("status") in ("succeeded", "failed", "cancelled", "completed"):
            return body
    fail(f"{resource}/{fit_id} did not end within {seconds} s")
    return None


def lesson(**fields):
    return {"x": X, "y": Y, **fields}


def progress_events(fit_id, seconds=60):
    """The live event stream of a running fit: its progress events are FitProgressEvent (read until one arrives)."""
    if "FitProgressEvent" not in DOC["components"]["schemas"]:
        fail("the document has no FitProgressEvent schema for the events' progress")
        return
    headers = {"Accept": "text/event-stream", **({"Authorization": f"Bearer {API_KEY}"} if API_KEY else {})}
    request = urllib.request.Request(f"{BASE}/v1/fits/{fit_id}/events", headers=headers)
    deadline = time.monotonic() + seconds
    with urllib.request.urlopen(request, timeout=seconds) as response:
        event = None
        while time.monotonic() < deadline:
            line = response.readline().decode()
            if not line:
                break
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "progress":
                validate({"$ref": "#/components/schemas/FitProgressEvent"}, json.loads(line[5:]), f"GET /v1/fits/{fit_id}/events progress")
                return
    fail(f"GET /v1/fits/{fit_id}/events: no progress event within {seconds} s")


def expect_304(path, first):
    """A resource read again with its ETag in If-None-Match is 304 without a body."""
    if "etag" not in first.headers:
        fail(f"GET {path}: no ETag")
        return
    again = call("GET", path, headers={"If-None-Match": first.headers["etag"]})
    if again.status != 304 or again.body:
        fail(f"GET {path} with its ETag: {again.status}, expected 304 without a body")


def ended(body):
    return wait_for(body["id"]) if body and body["status"] not in ("succeeded", "failed", "cancelled") else body


def scenario():
    started = {}
    # Every kind of fit, and each way of ending.
    kinds = {
        "polynomial": lesson(degree=2, loss="mae", learningRate=0.01, steps=200, initialParams=[1.1, 1.1, 1.1], label="lesson"),
        "polynomial-adam": lesson(degree=2, loss="huber", huberDelta=0.5, learningRate=0.05, steps=100,
                                  optimizer={"type": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
                                  schedule={"type": "cosine", "minLearningRate": 0.0}, stop={"minImprovement": 1e-9, "patience": 5}),
        "sgd-onecycle": lesson(degree=3, loss="mse", learningRate=0.001, steps=100, historyEvery=7,
                               optimizer={"type": "sgd", "momentum": 0.9, "nesterov": True},
                               schedule={"type": "oneCycle", "maxLearningRate": 0.01, "warmupFraction": 0.3}),
        "converged": lesson(degree=2, loss="mse", learningRate=0.01, steps=5000, stop={"lossBelow": 1e9}),
        "formula": lesson(model={"formula": "a*exp(b*x) + c", "params": ["a", "b", "c"]}, loss="mse", learningRate=0.001, steps=100),
        "relu": lesson(model={"type": "relu", "units": 4}, loss="mse", learningRate=0.01, steps=200, seed=3),
        "mlp-bce-rows": {"x": ROWS, "y": LABELS, "model": {"type": "mlp", "layers": [4, 3], "activation": "tanh"}, "loss": "bce",
                         "learningRate": 0.05, "standardize": True, "batchSize": 8, "shuffle": True, "seed": 7, "epochs": 5,
                         "optimizer": {"type": "adam"}},
        "linear-rows": {"x": ROWS, "y": LINEAR_Y, "model": {"type": "linear"}, "loss": "mse", "learningRate": 0.05, "steps": 300},
        "linear-exact": {"x": ROWS, "y": LINEAR_Y, "model": {"type": "linear"}, "loss": "mse", "solver": "exact", "standardize": True},
        "exact": lesson(degree=2, loss="mse", solver="exact"),
        "auto": lesson(degree=2, loss="mse", learningRate="auto", steps=100),
        "weighted": lesson(degree=2, loss="mse", learningRate=0.01, steps=100, weights=[1.0 + (i % 3) for i in range(20)]),
        "standardized": lesson(model={"type": "relu", "units": 2}, loss="mse", learningRate=0.01, steps=100, standardize=True),
        "mini-batch": lesson(model={"type": "mlp", "layers": [3]}, loss="huber", learningRate=0.01, batchSize=5, shuffle=True, seed=1,
                             epochs=4, historyPerEpoch=True),
        "diverged": lesson(degree=5, loss="mse", learningRate=1e6, steps=200),
        "solver-failed": {"x": [0.0, 1.0, 2.0], "y": [1.7e308, -1.7e308, 1.7e308], "degree": 2, "loss": "mse", "solver": "exact"},
        "nan-history": lesson(degree=8, loss="mse", learningRate=1e3, steps=50),
        "with-webhook": lesson(degree=1, loss="mse", learningRate=0.01, steps=10, webhook={"url": "https://192.0.2.10/fit"}),
        "defaults": lesson(),
    }
    for name, body in kinds.items():
        resource = fit(body)
        if resource:
            started[name] = ended(resource)
    ids = {name: r["id"] for name, r in started.items() if r}

    # Queued and running fits, the quota's 429, cancellation, and ETags while running.
    long_fit = lesson(degree=2, loss="mse", learningRate=1e-6, steps=5_000_000)
    long_ids = []
    for _ in range(8):
        answer = call("POST", "/v1/fits", long_fit)
        if answer.status == 202:
            long_ids.append(answer.json()["id"])
        elif answer.status != 429:
            fail(f"long fit: {answer.status}")
    if len(long_ids) >= 8:
        fail("Limits:MaxActiveFitsPerTenant did not answer 429 (is the service started as the docstring says?)")
    for fit_id in long_ids:
        call("GET", f"/v1/fits/{fit_id}")
        call("GET", f"/v1/fits/{fit_id}/history?limit=3")
        call("GET", f"/v1/fits/{fit_id}/plot.svg")
        call("POST", f"/v1/fits/{fit_id}/predict", {"x": [1.0]})  # 409: not succeeded
    if long_ids:
        progress_events(long_ids[0])
    call("GET", "/v1/fits?status=running")
    call("GET", "/v1/fits?status=queued")
    for fit_id in long_ids:
        call("POST", f"/v1/fits/{fit_id}/cancel")
    for fit_id in long_ids:
        wait_for(fit_id)
        call("POST", f"/v1/fits/{fit_id}/cancel")  # 409: already ended
        call("GET", f"/v1/fits/{fit_id}/history?limit=2", headers={"Accept": "text/csv"})

    # Reads of each ended fit.
    for name, fit_id in ids.items():
        expect_304(f"/v1/fits/{fit_id}", call("GET", f"/v1/fits/{fit_id}"))
        call("HEAD", f"/v1/fits/{fit_id}")
        call("HEAD", f"/v1/fits/{fit_id}/history", headers={"Accept": "text/csv"})
        call("GET", f"/v1/fits/{fit_id}/history?offset=1&limit=5")
        call("GET", f"/v1/fits/{fit_id}/history", headers={"Accept": "text/csv"})
        call("GET", f"/v1/fits/{fit_id}/history", headers={"Accept": "text/csv;q=0.5, application/json"})
        call("GET", f"/v1/fits/{fit_id}/plot.svg")
        call("GET", f"/v1/fits/{fit_id}/loss.svg?scale=log")
        call("GET", f"/v1/fits/{fit_id}/events")
        call("GET", f"/v1/fits/{fit_id}/deliveries")
    for fits_page in (call("GET", "/v1/fits?limit=3"), call("GET", "/v1/fits?label=lesson")):
        cursor = fits_page.json().get("next") if fits_page.status == 200 else None
        if cursor:
            call("GET", f"/v1/fits?limit=3&cursor={cursor}")

    # Predictions: polynomial, network on rows with probabilities, CSV both ways.
    for name, x in (("polynomial", [0.5, 1.5]), ("formula", [0.1]), ("relu", [0.0, 1.0]), ("mlp-bce-rows", [[1.0, 2.0], [0.0, 0.5]]),
                    ("linear-rows", [[1.0, 1.0]]), ("linear-exact", [[2.0, 0.0]]), ("exact", [3.0]), ("standardized", [1.0])):
        if name in ids:
            call("POST", f"/v1/fits/{ids[name]}/predict", {"x": x})
            call("POST", f"/v1/fits/{ids[name]}/predict", {"x": x}, headers={"Accept": "text/csv"})
    if "relu" in ids:
        call("POST", f"/v1/fits/{ids['relu']}/predict", "x\n0.5\n1.5\n", content_type="text/csv")
        call("POST", f"/v1/fits/{ids['relu']}/predict", {"x": [[1.0, 2.0]]})  # 400: rows for one feature
    if "mlp-bce-rows" in ids:
        call("POST", f"/v1/fits/{ids['mlp-bce-rows']}/predict", {"x": [1.0, 2.0]})  # 400: numbers for two features
    if "diverged" in ids:
        call("POST", f"/v1/fits/{ids['diverged']}/predict", {"x": [1.0]})  # 409

    # Evaluate: polynomial, formula, networks, weights, each loss.
    call("POST", "/v1/evaluate", {"x": X, "y": Y, "degree": 2, "loss": "mse", "params": [3, 2, 1]})
    call("POST", "/v1/evaluate", {"x": X, "y": Y, "degree": 1, "loss": "huber", "huberDelta": 2, "params": [1, 1], "weights": [1.0] * 20})
    call("POST", "/v1/evaluate", {"x": X, "y": Y, "loss": "mae", "model": {"formula": "a*x + b", "params": ["a", "b"]}, "params": [1, 2]})
    call("POST", "/v1/evaluate", {"x": ROWS, "y": LINEAR_Y, "loss": "mse", "model": {"type": "linear"}, "params": [2, -1, 0.5]})
    call("POST", "/v1/evaluate", {"x": ROWS, "y": LABELS, "loss": "bce", "model": {"type": "mlp", "layers": [2]}, "params": [0.1] * 9})
    call("POST", "/v1/evaluate", {"x": X, "y": Y, "loss": "mse", "model": {"type": "relu", "units": 2}, "params": [0.5] * 7})
    call("POST", "/v1/evaluate", {"x": X, "y": Y, "degree": 2, "loss": "mse", "params": [1e300, 1e300, 1e300]})  # loss overflows: null
    call("POST", "/v1/evaluate", {"x": X, "y": Y, "degree": 2, "loss": "mse", "params": [1, 2]})  # 400

    # The learning-rate finder.
    finder = call("POST", "/v1/lr-finder", {"x": X, "y": Y, "degree": 2, "loss": "mse"}, WAIT).json()
    finder_formula = call("POST", "/v1/lr-finder", {"x": X, "y": Y, "model": {"formula": "a*x + b", "params": ["a", "b"]}, "loss": "mae", "steps": 20}).json()
    for run in (finder, finder_formula):
        if "id" not in run:
            continue
        wait_for(run["id"], "lr-finder")
        first = call("GET", f"/v1/lr-finder/{run['id']}")
        expect_304(f"/v1/lr-finder/{run['id']}", first)
        call("HEAD", f"/v1/lr-finder/{run['id']}")
        call("GET", f"/v1/lr-finder/{run['id']}/plot.svg")
    if "id" in finder:
        call("GET", f"/v1/fits/{finder['id']}")  # a finder run is not a fit: 404
    key = f"finder-{time.time_ns()}"
    keyed = call("POST", "/v1/lr-finder", {"x": X, "y": Y, "degree": 1, "loss": "mse", "steps": 10}, {"Idempotency-Key": key})
    call("POST", "/v1/lr-finder", {"x": X, "y": Y, "degree": 1, "loss": "mse", "steps": 10}, {"Idempotency-Key": key})
    call("POST", "/v1/lr-finder", {"x": X, "y": Y, "degree": 2, "loss": "mse", "steps": 10}, {"Idempotency-Key": key})  # 409
    if "id" in finder_formula:
        call("DELETE", f"/v1/lr-finder/{finder_formula['id']}")
    if keyed.status in (201, 202):
        wait_for(keyed.json()["id"], "lr-finder")  # ended, so that the batch below stays within the active-fit quota

    # Batches: submit with a key, replay, conflict, results both ways, cancel after the end, deliveries, delete.
    batch_body = {"defaults": {"x": X, "y": Y, "loss": "mse", "learningRate": 0.01, "steps": 50}, "label": "b",
                  "fits": [{"degree": 1, "label": "one"}, {"degree": 2}, {"model": {"type": "relu", "units": 2}},
                           {"degree": 3, "learningRate": 1e6}, {"learningRate": "auto", "degree": 1}, {"solver": "exact", "learningRate": None, "steps": None}],
                  "webhook": {"url": "https://192.0.2.10/batch"}}
    key = f"batch-{time.time_ns()}"
    batch = call("POST", "/v1/batches", batch_body, {"Idempotency-Key": key})
    call("POST", "/v1/batches", batch_body, {"Idempotency-Key": key})
    call("POST", "/v1/batches", {**batch_body, "label": "other"}, {"Idempotency-Key": key})  # 409
    if batch.status != 202:
        fail(f"POST /v1/batches: {batch.status} {batch.body[:300]!r}")
    else:
        batch_id = batch.json()["id"]
        call("GET", f"/v1/batches/{batch_id}")
        wait_for(batch_id, "batches")
        first = call("GET", f"/v1/batches/{batch_id}")
        expect_304(f"/v1/batches/{batch_id}", first)
        call("HEAD", f"/v1/batches/{batch_id}")
        call("HEAD", f"/v1/batches/{batch_id}/results")
        call("GET", f"/v1/batches/{batch_id}/results")
        call("GET", f"/v1/batches/{batch_id}/results", headers={"Accept": "text/csv"})
        call("GET", f"/v1/batches/{batch_id}/results", headers={"Accept": "application/x-ndjson"})
        call("GET", f"/v1/batches/{batch_id}/results", headers={"Accept": "image/png"})  # 406
        call("POST", f"/v1/batches/{batch_id}/cancel")  # 409
        call("GET", f"/v1/batches/{batch_id}/deliveries")
        call("POST", f"/v1/batches/{batch_id}/deliveries/retry")
        call("DELETE", f"/v1/batches/{batch_id}")
        call("GET", f"/v1/batches/{batch_id}")  # 404
    long_batch = call("POST", "/v1/batches", {"defaults": long_fit, "fits": [{}, {}]})
    if long_batch.status == 202:
        batch_id = long_batch.json()["id"]
        call("GET", f"/v1/batches/{batch_id}/results")
        call("POST", f"/v1/batches/{batch_id}/cancel")
        wait_for(batch_id, "batches")
        call("GET", f"/v1/batches/{batch_id}/results")
        call("DELETE", f"/v1/batches/{batch_id}")

    # Idempotent fits, CSV submissions.
    key = f"fit-{time.time_ns()}"
    call("POST", "/v1/fits", lesson(degree=1, loss="mse", learningRate=0.01, steps=10), {"Idempotency-Key": key, **WAIT})
    call("POST", "/v1/fits", lesson(degree=1, loss="mse", learningRate=0.01, steps=10), {"Idempotency-Key": key, **WAIT})
    call("POST", "/v1/fits", lesson(degree=1, loss="mse", learningRate=0.01, steps=11), {"Idempotency-Key": key})  # 409
    csv = "x,y\n" + "".join(f"{x},{y}\n" for x, y in zip(X, Y))
    call("POST", "/v1/fits?degree=2&loss=mse&learningRate=0.01&steps=20", csv, WAIT, content_type="text/csv")
    rows_csv = "a,b,t\n" + "".join(f"{r[0]},{r[1]},{t}\n" for r, t in zip(ROWS, LABELS))
    call("POST", "/v1/fits?x=a,b&y=t&model=mlp&layers=3&loss=bce&standardize=true&learningRate=0.05&steps=20", rows_csv, WAIT, content_type="text/csv")

    # Webhook deliveries of a fit.
    if "with-webhook" in ids:
        call("POST", f"/v1/fits/{ids['with-webhook']}/deliveries/retry")
        call("GET", f"/v1/fits/{ids['with-webhook']}/deliveries")
    if "polynomial" in ids:
        call("POST", f"/v1/fits/{ids['polynomial']}/deliveries/retry")  # no webhook: 409 or 404

    # Problem details of every status the pipeline answers.
    call("POST", "/v1/fits", {"x": [1, 2], "y": [1]})  # 400
    call("POST", "/v1/fits", b'{"x": [1, 2', content_type="application/json")  # 400: malformed
    call("POST", "/v1/fits", lesson(degree=20, loss="mse", learningRate=0.01, steps=10_000_000))  # 422
    call("POST", "/v1/fits", b"x" * 1_200_000, content_type="application/json")  # 413
    call("POST", "/v1/fits", "x=1", content_type="application/x-www-form-urlencoded")  # 415
    call("POST", "/v1/fits", "hello", content_type="text/plain")  # 415
    call("POST", "/v1/batches", {"fits": [{"x": [1], "y": [1, 2], "degree": 0}]})  # 400
    call("POST", "/v1/batches", {"defaults": lesson(degree=20, loss="mse", learningRate=0.01, steps=10_000_000), "fits": [{}]})  # 422
    call("POST", "/v1/lr-finder", {"x": X, "y": Y})  # 400
    call("POST", "/v1/evaluate", "x", content_type="text/plain")  # 415
    call("GET", "/v1/fits?limit=0")  # 400
    call("GET", "/v1/fits/00000000000000000000000000000000")  # 404
    call("GET", "/v1/fits/00000000000000000000000000000000/history")  # 404
    call("GET", "/v1/lr-finder/00000000000000000000000000000000")  # 404
    call("GET", "/v1/batches/00000000000000000000000000000000/results")  # 404
    call("DELETE", "/v1/fits/00000000000000000000000000000000")  # 404
    if "polynomial" in ids:
        call("GET", f"/v1/fits/{ids['polynomial']}/history", headers={"Accept": "image/png"})  # 406
        call("GET", f"/v1/fits/{ids['polynomial']}/history?limit=0")  # 400
        call("GET", f"/v1/fits/{ids['polynomial']}/loss.svg?scale=cubic")  # 400
    for method, path in (("PUT", "/v1/fits"), ("PATCH", "/v1/fits/00000000000000000000000000000000"), ("PUT", "/v1/batches"),
                         ("GET", "/v1/evaluate"), ("DELETE", "/v1/fits")):
        answer = call(method, path, check=False)
        where = f"{method} {path} -> {answer.status}"
        if answer.status != 405:
            fail(f"{where}: expected 405")
        check_problem(where, answer)
    answer = call("GET", "/v1/no-such-thing", check=False)
    check_problem(f"GET /v1/no-such-thing -> {answer.status}", answer)

    # Query parameters at the bounds and enum values their schemas allow are accepted; one step outside is a 400.
    if "polynomial" in ids:
        check_parameter_bounds(ids["polynomial"])

    # Keys: a request without one, or with a wrong one, is a documented 401 with WWW-Authenticate.
    if API_KEY:
        for key in ("", "fs_wrong-key"):
            for method, path in (("GET", "/v1/fits"), ("POST", "/v1/fits"), ("GET", f"/v1/fits/{ids.get('polynomial', '0' * 32)}")):
                answer = call(method, path, lesson() if method == "POST" else None, key=key)
                if answer.status != 401 or "www-authenticate" not in answer.headers:
                    fail(f"{method} {path} with key {key!r}: {answer.status}, expected 401 with WWW-Authenticate")

    # Odd but well-formed requests to every operation: each answer's status must be documented, with problem details.
    odd_requests(ids.get("polynomial", "0" * 32))

    # Deletes.
    for fit_id in list(ids.values())[:3]:
        call("DELETE", f"/v1/fits/{fit_id}")
        call("GET", f"/v1/fits/{fit_id}")  # 404


def odd_requests(fit_id):
    ids = ["0" * 32, "not-an-id", "a" * 300, fit_id.upper(), "%2E%2E"]
    bodies = [None, b"", b"{}", b"[]", b"null", b'"text"', b"123", b'{"x": null, "y": null}', b'{"x": [], "y": []}',
              b'{"x": [1e999], "y": [1]}', b'{"fits": []}', b'{"x": [[1], [1, 2]], "y": [1, 2]}']
    for template, item in DOC["paths"].items():
        for method, operation in item.items():
            paths = [template.replace("{id}", i) for i in ids] if "{id}" in template else [template]
            for path in paths:
                if method == "get":
                    call("GET", path)
                elif method == "delete" and "{id}" in template and fit_id.upper() not in path:
                    call("DELETE", path)
                elif method == "post":
                    for body in bodies if path == paths[0] else [b"{}"]:
                        call("POST", path, body, content_type="application/json" if body is not None else None)
                    call("POST", path, b"x,y\n1,2\n", content_type="text/csv")
                    call("POST", path, b"<x/>", content_type="application/xml")


def check_parameter_bounds(fit_id):
    for template, item in DOC["paths"].items():
        operation = item.get("get")
        if operation is None or "{id}" in template and not template.startswith("/v1/fits/"):
            continue
        path = template.replace("{id}", fit_id)
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter["in"] != "query":
                continue
            allowed = [v for v in schema.get("enum", []) if v is not None]
            allowed += [schema[k] for k in ("minimum", "maximum") if k in schema]
            for value in allowed:
                answer = call("GET", f"{path}?{parameter['name']}={value}")
                if answer.status >= 400:
                    fail(f"GET {path}?{parameter['name']}={value}: {answer.status} for a value the schema allows")
            outside = [schema["minimum"] - 1] if "minimum" in schema else []
            outside += [schema["maximum"] + 1] if "maximum" in schema else []
            outside += ["no-such-value"] if "enum" in schema else []
            for value in outside:
                answer = call("GET", f"{path}?{parameter['name']}={value}")
                if answer.status != 400:
                    fail(f"GET {path}?{parameter['name']}={value}: {answer.status} for a value the schema refuses, expected 400")


def coverage():
    """Each operation was answered at least once (a redelivery may meet a delivery still in flight: 409)."""
    for template, item in DOC["paths"].items():
        for method, operation in item.items():
            if not any(op == operation["operationId"] and (status < 300 or status == 409) for op, status, _ in seen):
                fail(f"{method.upper()} {template}: no answer seen (the scenario misses it)")


scenario()
if "-v" in sys.argv:
    for entry in sorted(seen):
        print(*entry)
coverage()
print(f"{validated} answers validated, {len(seen)} (operation, status, media type) combinations, {len(failures)} failures", flush=True)
sys.exit(1 if failures else 0)
