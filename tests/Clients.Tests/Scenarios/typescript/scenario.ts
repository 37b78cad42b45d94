// The scenario, run with openapi-fetch over the types openapi-typescript generates from the served document (schema.d.ts).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";
import { lesson } from "./lesson.js";

// Node's process, without depending on @types/node.
declare const process: { argv: string[] };

type Fit = components["schemas"]["FitResource"];

const baseUrl = process.argv[2];
const client = createClient<paths>({ baseUrl });
const label = `typescript-${Date.now()}-${Math.random().toString(16).slice(2)}`;
const wait = { Prefer: "wait=30" };

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`scenario check failed: ${what}`);
  console.log(`ok: ${what}`);
}

async function until<T>(read: () => Promise<T>, ended: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const value = await read();
    if (ended(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not end within five minutes`);
  }
}

async function waitForFit(id: string): Promise<Fit> {
  return until(async () => {
    const { data, error } = await client.GET("/v1/fits/{id}", { params: { path: { id }, header: wait } });
    if (!data) throw new Error(JSON.stringify(error));
    return data;
  }, (f) => ["succeeded", "failed", "cancelled"].includes(f.status), `fit ${id}`);
}

// The lesson, submitted and waited for.
const submitted = await client.POST("/v1/fits", {
  params: { header: wait },
  body: { x: lesson.x, y: lesson.y, degree: 2, loss: "mae", learningRate: 0.01, steps: 100, initialParams: lesson.initialParams, label },
});
if (!submitted.data) throw new Error(JSON.stringify(submitted.error));
const fit = await waitForFit(submitted.data.id);
check(fit.status === "succeeded" && fit.stopReason === "steps", "the lesson succeeded after all its steps");
check(fit.history!.length === 100 && (fit.loss ?? Infinity) < (fit.history![0] ?? -Infinity), "100 losses recorded, the last below the first");

// Its history, paged as JSON and as CSV.
const steps: number[] = [];
for (let offset = 0; offset < 100; offset += 40) {
  const { data } = await client.GET("/v1/fits/{id}/history", { params: { path: { id: fit.id }, query: { offset, limit: 40 } } });
  // The operation answers JSON or CSV: without an Accept, JSON.
  const page = data as components["schemas"]["HistoryPage"];
  steps.push(...page.items.map((e) => e.step));
}
check(steps.length === 100 && steps.every((s, i) => s === i), "history paged as JSON: steps 0 to 99");
const csv = await client.GET("/v1/fits/{id}/history", {
  params: { path: { id: fit.id }, query: { offset: 90, limit: 10 } },
  headers: { Accept: "text/csv" },
  parseAs: "text",
});
check(csv.response.headers.get("content-type")!.startsWith("text/csv") && (csv.data as unknown as string).trimEnd().split("\n").length === 11, "history paged as CSV");

// The list, read while a fit with learningRate "auto" exists.
const autoSubmitted = await client.POST("/v1/fits", {
  params: { header: wait },
  body: { x: lesson.x, y: lesson.y, degree: 2, loss: "mse", learningRate: "auto", steps: 50, label },
});
const auto = await waitForFit(autoSubmitted.data!.id);
const list = await client.GET("/v1/fits", { params: { query: { label, limit: 50 } } });
check(list.data!.items.length === 2, "the list holds both fits");
check(list.data!.items.find((f) => f.id === auto.id)!.request.learningRate === "auto", "learningRate \"auto\" reads back as \"auto\"");
check(list.data!.items.find((f) => f.id === fit.id)!.request.learningRate === 0.01, "a numeric learningRate reads back as a number");
check((auto.learningRateChosen ?? 0) > 0, "the auto fit says which rate it chose");

// A batch and its results.
const batchSubmitted = await client.POST("/v1/batches", {
  params: { header: { "Idempotency-Key": crypto.randomUUID() } },
  body: {
    defaults: { degree: 1, loss: "mse", learningRate: 0.05, steps: 200 },
    fits: [0, 1, 2].map((i) => ({ x: [0, 1, 2, 3], y: [1, 3 + i, 5 + 2 * i, 7 + 3 * i], label: `${label}-${i}` })),
    label,
  },
});
const batch = await until(async () => {
  const { data } = await client.GET("/v1/batches/{id}", { params: { path: { id: batchSubmitted.data!.id }, header: wait } });
  return data!;
}, (b) => b.status === "completed", "the batch");
check(batch.counts.succeeded === 3, "every fit of the batch succeeded");
const results = await client.GET("/v1/batches/{id}/results", { params: { path: { id: batch.id } }, parseAs: "text" });
const labels = (results.data as unknown as string).trimEnd().split("\n").map((line) => (JSON.parse(line) as components["schemas"]["BatchResult"]).label);
check(JSON.stringify(labels) === JSON.stringify([0, 1, 2].map((i) => `${label}-${i}`)), "the results, one JSON line per fit in item order");

// A plot, downloaded.
const plot = await client.GET("/v1/fits/{id}/plot.svg", { params: { path: { id: fit.id } }, parseAs: "text" });
check((plot.data as unknown as string).includes("<svg"), "the plot is an SVG");

// A linear model of two features, x sent as rows, and a prediction on rows.
const rowsSubmitted = await client.POST("/v1/fits", {
  params: { header: wait },
  body: { x: [[0, 1], [1, 0], [1, 1], [2, 1]], y: [2, 3, 5, 8], model: { type: "linear" }, learningRate: 0.05, steps: 2000, optimizer: { type: "adam" }, label },
});
const rows = await waitForFit(rowsSubmitted.data!.id);
check(rows.status === "succeeded" && rows.params!.length === 3 && rows.request.features === 2, "a linear model of two features fitted from rows");
check(rows.paramsByLayer!.map((l) => l.name).join(",") === "0.weight,0.bias", "its params by layer, named as PyTorch's state_dict");
const predicted = await client.POST("/v1/fits/{id}/predict", { params: { path: { id: rows.id } }, body: { x: [[3, 3]] } });
// The answer may be JSON or CSV (by Accept), so its type is a union: JSON here.
check((predicted.data as unknown as { y: (number | null)[] }).y.length === 1, "a prediction on rows");

// A sum of four ReLUs, its null optimum, and evaluate at its params.
const reluSubmitted = await client.POST("/v1/fits", {
  params: { header: wait },
  body: { x: lesson.x, y: lesson.y, model: { type: "relu", units: 4 }, learningRate: 0.05, steps: 300, seed: 0, optimizer: { type: "adam" }, label },
});
const relu = await waitForFit(reluSubmitted.data!.id);
check(relu.status === "succeeded" && relu.optimum === null && relu.optimumStatus === "notApplicable", "a relu fit reads back a null optimum");
const evaluated = await client.POST("/v1/evaluate", {
  body: { x: lesson.x, y: lesson.y, model: { type: "relu", units: 4 }, loss: "mse", params: relu.params!.map((p) => p!) },
});
check(Math.abs(evaluated.data!.loss! - relu.loss!) <= 1e-9 * Math.max(1, relu.loss!), "evaluate at the relu fit's params gives its loss");

// An mlp with bce on rows of x, and predictions on rows with probabilities.
const rowsX = [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [0, 2], [2, 1], [1, 2], [2, 2], [3, 1], [1, 3], [3, 3]];
const mlpSubmitted = await client.POST("/v1/fits", {
  params: { header: wait },
  body: {
    x: rowsX, y: rowsX.map(([a, b]) => (a + b > 2 ? 1 : 0)), model: { type: "mlp", layers: [4], activation: "tanh" }, loss: "bce", learningRate: 0.05,
    standardize: true, batchSize: 4, shuffle: true, seed: 1, epochs: 60, optimizer: { type: "adam" }, label,
  },
});
const mlp = await waitForFit(mlpSubmitted.data!.id);
check(mlp.status === "succeeded" && mlp.request.loss === "bce" && mlp.paramsByLayer!.length === 4 && mlp.standardization != null, "an mlp with bce fitted on rows");
const onRows = await client.POST("/v1/fits/{id}/predict", { params: { path: { id: mlp.id } }, body: { x: [[0, 0], [3, 3]] } });
const probabilities = (onRows.data as components["schemas"]["PredictResult"]).probabilities!;
check(probabilities.length === 2 && probabilities[0]! < probabilities[1]!, "predictions on rows read probabilities");

// A validation error, read as problem details.
const invalid = await client.POST("/v1/fits", { body: { x: [1, 2, 3], y: [1, 2], degree: 2, loss: "mse", learningRate: 0.1, steps: 10 } });
const problem = invalid.error as components["schemas"]["HttpValidationProblemDetails"] | undefined;
check(invalid.response.status === 400 && problem?.status === 400 && problem.errors.y !== undefined, "the validation error names the field y");

console.log("scenario passed");
