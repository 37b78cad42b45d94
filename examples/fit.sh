#!/usr/bin/env bash
# Submits the lesson's fit (a quadratic to 20 noisy points, MAE, learning rate 0.01, 10 steps from
# a = b = c = 1.1, gradients accumulated as the lesson's loop does = SGD with momentum 1) and prints
# the params and loss. Needs bash, curl and jq.
#
#   FITSERVICE_URL=http://localhost:5080 FITSERVICE_API_KEY=... examples/fit.sh
set -euo pipefail

server="${FITSERVICE_URL:-http://localhost:5080}"
auth=()
if [[ -n "${FITSERVICE_API_KEY:-}" ]]; then
  auth=(-H "Authorization: Bearer ${FITSERVICE_API_KEY}")
fi

# f(x) = 3x² + 2x + 1 at x = linspace(-2, 2, 20), with the lesson's noise (numpy seed 42)
request=$(jq -n '{
  x: [-2.0, -1.7895, -1.5789, -1.3684, -1.1579, -0.9474, -0.7368, -0.5263, -0.3158, -0.1053,
      0.1053, 0.3158, 0.5263, 0.7368, 0.9474, 1.1579, 1.3684, 1.5789, 1.7895, 2.0],
  y: [11.8690, 6.5433, 5.9396, 2.6304, 1.7947, 1.9010, -0.2977, 1.4315, -0.2804, 0.4521,
      0.2547, 4.5743, 2.9681, 1.3385, 5.3754, 4.8878, 8.2467, 9.2462, 10.2612, 13.6939],
  degree: 2,
  loss: "mae",
  learningRate: 0.01,
  steps: 10,
  initialParams: [1.1, 1.1, 1.1],
  optimizer: {type: "sgd", momentum: 1.0, dampening: 0.0, nesterov: false},
  label: "lesson example (examples/fit.sh)"
}')

# Prefer: wait=30 answers 201 with the finished fit if it ends within 30 s, else 202 with the queued one.
body=$(mktemp)
trap 'rm -f "$body"' EXIT
status=$(curl -sS -o "$body" -w '%{http_code}' "${auth[@]}" \
  -H 'Content-Type: application/json' -H 'Prefer: wait=30' \
  --data "$request" "$server/v1/fits") || { echo "Cannot reach FitService at $server" >&2; exit 3; }

if [[ "$status" != 201 && "$status" != 202 ]]; then
  echo "FitService answered HTTP $status:" >&2
  jq -r '"\(.title // "error")\(if .detail then ": " + .detail else "" end)",
         ((.errors // {}) | to_entries[] | "  \(.key): \(.value | join("; "))")' "$body" >&2 2>/dev/null || cat "$body" >&2
  exit 3
fi

fit=$(cat "$body")
id=$(jq -r .id <<<"$fit")
# Not finished within the first wait (a busy service): keep asking, each GET waiting up to 30 s.
while [[ "$(jq -r .status <<<"$fit")" == queued || "$(jq -r .status <<<"$fit")" == running ]]; do
  fit=$(curl -sS --fail-with-body "${auth[@]}" -H 'Prefer: wait=30' "$server/v1/fits/$id") || exit 3
done

jq -r '"fit    \(.id)",
       "status \(.status) (\(.stopReason))",
       "params \(.params | map(tostring) | join(", "))",
       "loss   \(.loss)",
       "history[0] (loss at the initial params) \(.history[0] // "n/a")"' <<<"$fit"
[[ "$(jq -r .status <<<"$fit")" == succeeded ]] || exit 1
