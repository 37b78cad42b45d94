using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CsCheck;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>
/// A stateful fuzzer: a random walk over every endpoint with valid and invalid requests in random order (submit,
/// read, page history, plots, events, cancel, delete, use after delete, batches, finder runs, evaluate, network fits and
/// their predictions (rows, standardize, batches, bce; a network evaluation beyond Limits:MaxRequestWork), CSV, query
/// parameters, HEAD), against the whole service on a real SQLite file. After every request: no 5xx; every 4xx is
/// problem details with type, title and status; a rejected create stored nothing (fits and batches counted in the
/// file). The walk is fixed by its seed, so a failure names the seed and the requests that led to it.
/// CI runs <see cref="DefaultSteps"/> steps of seed <see cref="DefaultSeed"/>; set <c>FITSERVICE_FUZZ_STEPS</c> and
/// <c>FITSERVICE_FUZZ_SEED</c> (or <c>FITSERVICE_FUZZ_WALKS</c> for several seeds in a row) to walk longer by hand.
/// </summary>
public sealed class StatefulFuzzTests
{
    public const int DefaultSteps = 600;
    public const ulong DefaultSeed = 20261130;

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    [Fact]
    public async Task ARandomWalkOverEveryEndpointNeverAnswers5xxAnswersEvery4xxAsProblemDetailsAndStoresNothingRejected()
    {
        var steps = Setting("FITSERVICE_FUZZ_STEPS", DefaultSteps);
        var walks = Setting("FITSERVICE_FUZZ_WALKS", 1);
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("FITSERVICE_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        for (var walk = 0; walk < walks; walk++)
        {
            using var factory = new FitServiceFactory(("Workers:Count", "2"), ("Limits:MaxPoints", "2000"), ("Limits:MaxSteps", "50000"),
                ("Limits:MaxBatchFits", "20"), ("Limits:RequestsPerSecond", "0"), ("Limits:MaxWaitSeconds", "2"));
            await new Walker(factory, factory.CreateClient(), seed + (ulong)walk).RunAsync(steps);
        }
    }

    /// <summary>One walk: the model of what exists, the operations, and the checks after each request.</summary>
    private sealed class Walker(FitServiceFactory factory, HttpClient client, ulong seed)
    {
        private readonly PCG _random = new(1, seed);
        private readonly List<string> _fits = [], _batches = [], _finders = [], _gone = [];

        private readonly Queue<string> _trace = new();
        private int _step;

        private T Pick<T>(Gen<T> gen) => gen.Generate(_random, null, out _);
        private int Int(int min, int max) => Pick(Gen.Int[min, max]);
        private bool Chance(int percent) => Int(0, 99) < percent;
        private T OneOf<T>(params T[] items) => items[Int(0, items.Length - 1)];

        private string AnyId(List<string> live) => Int(0, 9) switch
        {
            < 6 when live.Count > 0 => live[Int(0, live.Count - 1)],
            < 8 when _gone.Count > 0 => _gone[Int(0, _gone.Count - 1)],
            8 => OneOf(_fits.Concat(_batches).Concat(_finders).DefaultIfEmpty("x").ToArray()), // the id of another kind of resource
            _ => OneOf("0193f2c4a1b27c3d9e4f5a6b7c8d9e0f", "nope", "%2e%2e", new string('9', 40), "-1"),
        };

        public async Task RunAsync(int steps)
        {
            var operations = new (int Weight, Func<Task> Run)[]
            {
                (10, SubmitFit), (6, SubmitBadFit), (4, SubmitCsv), (8, ReadFit), (5, ReadHistory), (4, Plot), (3, Events),
                (4, CancelFit), (3, DeleteFit), (4, ListFits), (4, SubmitBatch), (3, SubmitBadBatch), (4, ReadBatch),
                (2, CancelOrDeleteBatch), (3, SubmitFinder), (3, ReadFinder), (3, Evaluate), (3, Deliveries), (3, Head), (2, WrongMethod),
                (5, SubmitNetwork), (4, Predict), (2, EvaluateNetwork),
            };
            var total = operations.Sum(o => o.Weight);
            for (_step = 0; _step < steps; _step++)
            {
                var roll = Int(0, total - 1);
                foreach (var (weight, run) in operations)
                {
                    if ((roll -= weight) >= 0) continue;
                    await run();
                    break;
                }
            }
        }

        // ---- requests and checks ----

        private async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpMethod method, string path, HttpContent? content = null,
            bool creates = false, params (string Name, string Value)[] headers)
        {
            var request = new HttpRequestMessage(method, path) { Content = content };
            foreach (var (name, value) in headers)
            {
                if (name == "Accept") request.Headers.Accept.ParseAdd(value);
                else request.Headers.TryAddWithoutValidation(name, value);
            }
            var before = creates ? await StoredRowsAsync() : 0;
            var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            _trace.Enqueue($"{_step}: {method} {Shorten(path)} -> {status}");
            if (_trace.Count > 25) _trace.Dequeue();

            Check(status < 500, $"{status} {Shorten(body, 600)}");
            if (status >= 400)
            {
                Check(response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                    $"{status} without problem details: {response.Content.Headers.ContentType} {Shorten(body)}");
                if (method != HttpMethod.Head)
                {
                    using var problem = JsonDocument.Parse(body);
                    var root = problem.RootElement;
                    Check(root.TryGetProperty("type", out _) && root.TryGetProperty("title", out _), $"problem without type or title: {body}");
                    Check(root.TryGetProperty("status", out var s) && s.GetInt32() == status, $"problem status differs from {status}: {body}");
                }
                if (creates) Check(await StoredRowsAsync() == before, $"a rejected create ({status}) stored something: {Shorten(body)}");
            }
            return (response, body);
        }

        private void Check(bool condition, string what)
        {
            if (condition) return;
            Assert.Fail($"seed {seed}, step {_step}: {what}\nlast requests:\n{string.Join('\n', _trace)}");
        }

        private async Task<long> StoredRowsAsync() => await HostileRequestsTests.StoredRows(factory.DatabasePath);

        private static string Shorten(string text, int max = 200) => text.Length <= max ? text : text[..max] + $"…({text.Length} chars)";

        private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

        private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

        // ---- bodies ----

        private string Points(int n, out string y)
        {
            var xs = new double[n];
            var ys = new double[n];
            var kind = Int(0, 4);
            for (var i = 0; i < n; i++)
            {
                xs[i] = kind switch
                {
                    0 => i,
                    1 => Pick(Gen.Double[-1e6, 1e6]),
                    2 => 1 + i * 1e-15, // nearly equal
                    3 => Pick(Gen.Double[-5, 5]),
                    _ => OneOf(5e-324, 0, 1e-300, -1e-300, 1),
                };
                ys[i] = Chance(80) ? 2 * xs[i] + 1 + Pick(Gen.Double[-1, 1]) : Pick(Gen.Double[-1e300, 1e300]);
            }
            y = "[" + string.Join(',', ys.Select(Number)) + "]";
            return "[" + string.Join(',', xs.Select(Number)) + "]";
        }

        private string Label() => OneOf("plain", "=cmd|' /C calc'!A0", "-1+2", "ümlaut ✓", "<svg onload=alert(1)>", "a\"b", "", "tab\there", "nul\u0000", new string('l', 200));

        private string ValidFitJson()
        {
            var n = Int(1, 40);
            var x = Points(n, out var y);
            var degree = Int(0, Math.Min(6, 5));
            var loss = OneOf("mse", "mae", "huber");
            var parts = new List<string> { $"\"x\":{x}", $"\"y\":{y}", $"\"degree\":{degree}", $"\"loss\":\"{loss}\"" };
            if (loss == "huber") parts.Add($"\"huberDelta\":{Number(Pick(Gen.Double[0.1, 5]))}");
            parts.Add(Chance(15) ? "\"learningRate\":\"auto\"" : $"\"learningRate\":{Number(OneOf(1e-4, 0.01, 0.1, 0.5, 2.0))}");
            parts.Add($"\"steps\":{Int(1, 3000)}");
            if (Chance(20)) parts.Add($"\"historyEvery\":{Int(1, 50)}");
            if (Chance(15)) parts.Add("\"optimizer\":" + OneOf("{\"type\":\"adam\"}", "{\"type\":\"sgd\",\"momentum\":0.9}", "{\"type\":\"sgd\",\"momentum\":0.9,\"nesterov\":true}"));
            if (Chance(15)) parts.Add("\"schedule\":" + OneOf("{\"type\":\"step\",\"every\":10,\"gamma\":0.5}", "{\"type\":\"cosine\"}", "{\"type\":\"exponential\",\"gamma\":0.99}"));
            if (Chance(10)) parts.Add("\"solver\":\"exact\"");
            if (Chance(40)) parts.Add($"\"label\":{JsonSerializer.Serialize(Label())}");
            return "{" + string.Join(',', parts) + "}";
        }

        private string BadFitJson()
        {
            var valid = ValidFitJson();
            return Int(0, 11) switch
            {
                0 => valid[..Int(0, valid.Length - 1)],
                1 => valid.Replace("\"degree\":", "\"degree\":-").Replace("--", "-"),
                2 => valid.Insert(valid.Length - 1, ",\"colour\":\"red\""),
                3 => valid.Replace("\"steps\":", "\"steps\":9999999"),
                4 => valid.Replace("\"loss\":\"", "\"loss\":\"x"),
                5 => valid.Insert(1, "\"x\":[1],"),
                6 => "{\"x\":[1,2,3],\"y\":[1,2],\"degree\":1,\"loss\":\"mse\",\"learningRate\":0.1,\"steps\":5}",
                7 => valid.Replace("\"learningRate\":", "\"learningRate\":-"),
                8 => valid.Insert(valid.Length - 1, ",\"webhook\":{\"url\":\"" + OneOf("http://127.0.0.1/x", "ftp://x/y", "http://[::1]/", "http://169.254.169.254/") + "\"}"),
                9 => new string('[', Int(17, 2000)),
                10 => valid.Replace("\"x\":[", "\"x\":[1e400,"),
                _ => "{\"x\":[" + string.Join(',', Enumerable.Repeat("1", 2001)) + "]}",
            };
        }

        // ---- operations ----

        private async Task SubmitFit()
        {
            var headers = new List<(string, string)>();
            if (Chance(20)) headers.Add(("Idempotency-Key", OneOf("k1", "k2", "k3")));
            if (Chance(10)) headers.Add(("Prefer", $"wait={Int(0, 1)}"));
            var (response, body) = await SendAsync(HttpMethod.Post, "/v1/fits", Json(ValidFitJson()), creates: true, [.. headers]);
            if (response.IsSuccessStatusCode) _fits.Add(JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!);
        }

        private Task SubmitBadFit() => SendAsync(HttpMethod.Post, "/v1/fits", Chance(90) ? Json(BadFitJson())
            : new StringContent(ValidFitJson(), Encoding.UTF8, OneOf("text/plain", "application/xml", "application/x-www-form-urlencoded")), creates: true);

        private async Task SubmitCsv()
        {
            var n = Int(0, 30);
            var rows = string.Concat(Enumerable.Range(0, n).Select(i => Chance(95) ? $"{i},{Number(2 * i + 1.5)}\n" : OneOf("a,b\n", "1e400,1\n", "1\n", ",\n", "1,2,3\n")));
            var query = OneOf("degree=1&loss=mse&learningRate=0.01&steps=50", "degree=2&loss=mae&learningRate=auto&steps=10&label=csv",
                "degree=1&loss=mse&learningRate=0.01", "degree=x&loss=mse&learningRate=0.01&steps=5", "degree=1&loss=mse&learningRate=0.01&steps=5&colour=red",
                "degree=1&loss=mse&learningRate=0.01&steps=5&historyEvery=0", "");
            var (response, body) = await SendAsync(HttpMethod.Post, "/v1/fits?" + query, new StringContent(rows, Encoding.UTF8, "text/csv"), creates: true);
            if (response.IsSuccessStatusCode) _fits.Add(JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!);
        }

        private Task ReadFit() => Chance(15)
            ? SendAsync(HttpMethod.Get, $"/v1/fits/{AnyId(_fits)}", headers: ("Prefer", OneOf("wait=1", "wait=abc", "wait=-1", "wait=99999999999")))
            : SendAsync(HttpMethod.Get, $"/v1/fits/{AnyId(_fits)}");

        private Task ReadHistory()
        {
            var query = OneOf("", "?offset=0&limit=10", $"?offset={Int(-5, 5000)}&limit={Int(-5, 20000)}", "?offset=x", "?limit=0", "?offset=2147483648");
            return Chance(40)
                ? SendAsync(HttpMethod.Get, $"/v1/fits/{AnyId(_fits)}/history{query}", headers: ("Accept", "text/csv"))
                : SendAsync(HttpMethod.Get, $"/v1/fits/{AnyId(_fits)}/history{query}");
        }

        private Task Plot() => SendAsync(HttpMethod.Get, $"/v1/fits/{AnyId(_fits)}/{OneOf("plot.svg", "loss.svg")}{OneOf("", "?scale=log", "?scale=linear", "?scale=bogus")}");

        private async Task Events()
        {
            // Only the answer's head: a running fit's stream lasts until it ends.
            var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{AnyId(_fits)}/events");
            if (Chance(30)) request.Headers.TryAddWithoutValidation("Last-Event-ID", OneOf("5", "-1", "abc", "99999999999"));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var status = (int)response.StatusCode;
            _trace.Enqueue($"{_step}: GET …/events -> {status}");
            Check(status < 500, $"events {status}");
            if (status >= 400) Check(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"events {status} without problem details");
            else Check(response.Content.Headers.ContentType?.MediaType == "text/event-stream", $"events {status} as {response.Content.Headers.ContentType}");
        }

        private Task CancelFit() => SendAsync(HttpMethod.Post, $"/v1/fits/{AnyId(_fits)}/cancel");

        private async Task DeleteFit()
        {
            var id = AnyId(_fits);
            var (response, _) = await SendAsync(HttpMethod.Delete, $"/v1/fits/{id}");
            if (response.StatusCode == HttpStatusCode.NoContent && _fits.Remove(id)) _gone.Add(id);
        }

        private Task ListFits() => SendAsync(HttpMethod.Get, "/v1/fits" + OneOf("", "?limit=5", "?status=running", "?status=bogus", "?label=plain",
            $"?limit={Int(-3, 500)}", "?cursor=abc", "?cursor=" + new string('c', 300), "?status=succeeded&limit=2"));

        private async Task SubmitBatch()
        {
            var items = Enumerable.Range(0, Int(1, 6)).Select(_ => Chance(50) ? ValidFitJson() : $"{{\"label\":{JsonSerializer.Serialize(Label())}}}").ToList();
            var defaults = ValidFitJson();
            var body = $"{{\"defaults\":{defaults},\"fits\":[{string.Join(',', items)}]" + (Chance(30) ? ",\"label\":\"batch\"" : "") + "}";
            var (response, text) = await SendAsync(HttpMethod.Post, "/v1/batches", Json(body), creates: true);
            if (response.IsSuccessStatusCode)
            {
                var root = JsonDocument.Parse(text).RootElement;
                _batches.Add(root.GetProperty("id").GetString()!);
                _fits.AddRange(root.GetProperty("fitIds").EnumerateArray().Select(e => e.GetString()!));
            }
        }

        private Task SubmitBadBatch()
        {
            var body = Int(0, 5) switch
            {
                0 => "{\"fits\":[]}",
                1 => $"{{\"defaults\":{ValidFitJson()},\"fits\":[{BadFitJson()}]}}",
                2 => $"{{\"fits\":[{ValidFitJson()},{{\"degree\":-1}}]}}",
                3 => $"{{\"fits\":[{string.Join(',', Enumerable.Repeat("{}", 21))}],\"defaults\":{ValidFitJson()}}}",
                4 => $"{{\"defaults\":{ValidFitJson()},\"fits\":[{{}}],\"webhook\":{{\"url\":\"http://10.1.2.3/\"}}}}",
                _ => "{\"fits\":[null]}",
            };
            return SendAsync(HttpMethod.Post, "/v1/batches", Json(body), creates: true);
        }

        private Task ReadBatch()
        {
            var id = AnyId(_batches);
            return Int(0, 3) switch
            {
                0 => SendAsync(HttpMethod.Get, $"/v1/batches/{id}"),
                1 => SendAsync(HttpMethod.Get, $"/v1/batches/{id}", headers: ("Prefer", "wait=1")),
                2 => SendAsync(HttpMethod.Get, $"/v1/batches/{id}/results", headers: ("Accept", "text/csv")),
                _ => SendAsync(HttpMethod.Get, $"/v1/batches/{id}/results"),
            };
        }

        private async Task CancelOrDeleteBatch()
        {
            var id = AnyId(_batches);
            if (Chance(50))
            {
                await SendAsync(HttpMethod.Post, $"/v1/batches/{id}/cancel");
                return;
            }
            var (response, _) = await SendAsync(HttpMethod.Delete, $"/v1/batches/{id}");
            if (response.StatusCode == HttpStatusCode.NoContent && _batches.Remove(id)) _gone.Add(id);
        }

        private async Task SubmitFinder()
        {
            var x = Points(Int(2, 30), out var y);
            var body = Int(0, 4) switch
            {
                0 => $"{{\"x\":{x},\"y\":{y},\"degree\":-1,\"loss\":\"mse\"}}",
                1 => $"{{\"x\":{x},\"y\":{y},\"degree\":1,\"loss\":\"mse\",\"startLearningRate\":1,\"endLearningRate\":1e-6}}",
                _ => $"{{\"x\":{x},\"y\":{y},\"degree\":{Int(0, 3)},\"loss\":\"{OneOf("mse", "mae")}\",\"steps\":{Int(10, 200)}}}",
            };
            var (response, text) = await SendAsync(HttpMethod.Post, "/v1/lr-finder", Json(body), creates: true);
            if (response.IsSuccessStatusCode) _finders.Add(JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!);
        }

        private Task ReadFinder() => SendAsync(HttpMethod.Get, $"/v1/lr-finder/{AnyId(_finders)}{OneOf("", "/plot.svg")}");

        private Task Evaluate()
        {
            var x = Points(Int(1, 20), out var y);
            var degree = Int(0, 3);
            var parameters = string.Join(',', Enumerable.Range(0, Chance(85) ? degree + 1 : degree + 2).Select(_ => Number(Pick(Gen.Double[-10, 10]))));
            return SendAsync(HttpMethod.Post, "/v1/evaluate", Json($"{{\"x\":{x},\"y\":{y},\"degree\":{degree},\"loss\":\"{OneOf("mse", "mae", "nope")}\",\"params\":[{parameters}]}}"));
        }

        /// <summary>A network fit (relu, mlp, linear on rows of 1–3 features; standardize, batches, shuffle, seed, epochs, bce), or one field of it wrong.</summary>
        private async Task SubmitNetwork()
        {
            var n = Int(1, 40);
            var features = Int(1, 3);
            string Row() => "[" + string.Join(',', Enumerable.Range(0, features).Select(_ => Number(Pick(Gen.Double[-3, 3])))) + "]";
            var loss = OneOf("mse", "mae", "huber", "bce");
            var fields = new Dictionary<string, string>
            {
                ["x"] = "[" + string.Join(',', Enumerable.Range(0, n).Select(_ => Row())) + "]",
                ["y"] = "[" + string.Join(',', Enumerable.Range(0, n).Select(_ => loss == "bce" ? OneOf("0", "1", "0.25") : Number(Pick(Gen.Double[-5, 5])))) + "]",
                ["model"] = OneOf($"{{\"type\":\"relu\",\"units\":{Int(1, 8)}}}", "{\"type\":\"linear\"}",
                    $"{{\"type\":\"mlp\",\"layers\":[{Int(1, 6)},{Int(1, 6)}],\"activation\":\"{OneOf("relu", "tanh", "sigmoid")}\"}}"),
                ["loss"] = $"\"{loss}\"",
                ["learningRate"] = Chance(15) ? "\"auto\"" : Number(OneOf(0.001, 0.01, 0.1)),
            };
            if (Chance(30)) fields["epochs"] = Int(1, 5).ToString(CultureInfo.InvariantCulture);
            else fields["steps"] = Int(1, 300).ToString(CultureInfo.InvariantCulture);
            if (Chance(40)) fields["standardize"] = "true";
            if (Chance(30)) fields["batchSize"] = Int(1, n).ToString(CultureInfo.InvariantCulture);
            if (Chance(20)) fields["shuffle"] = "true";
            if (Chance(30)) fields["seed"] = Int(0, 99).ToString(CultureInfo.InvariantCulture);
            if (Chance(10)) fields["historyPerEpoch"] = "true";
            var bad = Chance(40);
            if (bad)
            {
                var (field, value) = Int(0, 11) switch
                {
                    0 => ("model", "{\"type\":\"mlp\",\"layers\":[1000000000]}"),
                    1 => ("model", "{\"type\":\"mlp\",\"layers\":[1024,1024,1024]}"),
                    2 => ("batchSize", OneOf("0", "-1", "2.5", "1e12")),
                    3 => ("y", "[" + string.Join(',', Enumerable.Range(0, n).Select(i => i == 0 ? "1.5" : "0")) + "]"),
                    4 => ("x", "[[1,2,3,4,5]" + string.Concat(Enumerable.Range(1, n).Select(_ => "," + Row())) + "]"),
                    5 => ("weights", "[" + string.Join(',', Enumerable.Repeat("1", n)) + "]"),
                    6 => ("solver", "\"exact\""),
                    7 => ("standardize", OneOf("\"yes\"", "1", "[]")), // null is the default, as for every optional field
                    8 => ("x", "[[" + string.Join(',', Enumerable.Repeat("1", 1025)) + "]]"),
                    9 => ("degree", "2"),
                    10 => ("model", OneOf("{\"type\":\"relu\",\"units\":0}", "{\"type\":\"RELU\",\"units\":2}", "{\"type\":\"mlp\",\"layers\":[]}", "{\"type\":\"linear\",\"units\":3}")),
                    _ => ("epochs", "1"),
                };
                fields[field] = value;
                if (field == "y" || field == "solver") (fields["loss"], fields["model"]) = (field == "y" ? "\"bce\"" : "\"mae\"", "{\"type\":\"relu\",\"units\":2}");
                if (field == "epochs") fields["steps"] = "10";
            }
            var json = "{" + string.Join(',', fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}";
            var (response, body) = await SendAsync(HttpMethod.Post, "/v1/fits", Json(json), creates: true);
            if (bad) Check(response.StatusCode == HttpStatusCode.BadRequest, $"a network fit with a wrong field was {(int)response.StatusCode}: {Shorten(json)}");
            if (response.IsSuccessStatusCode) _fits.Add(JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!);
        }

        /// <summary>Predictions from any fit (networks on rows, polynomials on numbers), JSON or CSV, fitting or not, and one beyond Limits:MaxRequestWork.</summary>
        private Task Predict()
        {
            var id = AnyId(_fits);
            var accept = OneOf("application/json", "text/csv");
            if (Chance(30))
            {
                var (query, csv) = OneOf(("?x=x", "x\n1\n2\n"), ("?x=a,b", "a,b\n1,2\n3,4\n"), ("?x=nope", "x\n1\n"), ("", "x\n1\n"), ("?x=0", "1\nabc\n"), ("?x=a", "a\n1e400\n"));
                return SendAsync(HttpMethod.Post, $"/v1/fits/{id}/predict{query}", new StringContent(csv, Encoding.UTF8, "text/csv"), headers: ("Accept", accept));
            }
            var x = OneOf("[1,2]", "[[1],[2]]", "[[1,2],[3,4]]", "[[1,2,3]]", "[]", "[[]]", "[1,[2]]", "[1e308,-1e308]", "null", "\"1\"",
                "[" + string.Join(',', Enumerable.Repeat("[0.5,0.5]", 2000)) + "]");
            return SendAsync(HttpMethod.Post, $"/v1/fits/{id}/predict", Json($"{{\"x\":{x}}}"), headers: ("Accept", accept));
        }

        /// <summary>The loss of a small network, or of an mlp [300, 300] on 2,000 rows: beyond Limits:MaxRequestWork, a 422 and not seconds of work.</summary>
        private async Task EvaluateNetwork()
        {
            if (Chance(30))
            {
                var heavy = $"{{\"x\":[{string.Join(',', Enumerable.Repeat("[0.5]", 2000))}],\"y\":[{string.Join(',', Enumerable.Repeat("1", 2000))}]," +
                    $"\"model\":{{\"type\":\"mlp\",\"layers\":[300,300]}},\"loss\":\"mse\",\"params\":[{string.Join(',', Enumerable.Repeat("0.01", 91_201))}]}}";
                var (response, _) = await SendAsync(HttpMethod.Post, "/v1/evaluate", Json(heavy));
                Check(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"an evaluation of 1.8e8 points × params was {(int)response.StatusCode}");
                return;
            }
            var units = Int(1, 4);
            var parameters = string.Join(',', Enumerable.Range(0, Chance(85) ? 3 * units + 1 : 3 * units).Select(_ => Number(Pick(Gen.Double[-2, 2]))));
            await SendAsync(HttpMethod.Post, "/v1/evaluate", Json($"{{\"x\":[[1],[2],[3]],\"y\":[1,0,1],\"model\":{{\"type\":\"relu\",\"units\":{units}}}," +
                $"\"loss\":\"{OneOf("mse", "bce", "huber", "nope")}\",\"params\":[{parameters}]}}"));
        }

        private Task Deliveries()
        {
            var (kind, id) = Chance(60) ? ("fits", AnyId(_fits)) : Chance(50) ? ("batches", AnyId(_batches)) : ("fits", AnyId(_finders));
            return Chance(60) ? SendAsync(HttpMethod.Get, $"/v1/{kind}/{id}/deliveries") : SendAsync(HttpMethod.Post, $"/v1/{kind}/{id}/deliveries/retry");
        }

        private Task Head() => SendAsync(HttpMethod.Head, OneOf($"/v1/fits/{AnyId(_fits)}", "/v1/fits", $"/v1/fits/{AnyId(_fits)}/history",
            $"/v1/batches/{AnyId(_batches)}", $"/v1/fits/{AnyId(_fits)}/plot.svg", "/health/ready"));

        private Task WrongMethod() => SendAsync(OneOf(HttpMethod.Put, HttpMethod.Patch, HttpMethod.Delete, HttpMethod.Post),
            OneOf("/v1/fits", $"/v1/fits/{AnyId(_fits)}/history", "/v1/evaluate", "/v1/lr-finder", $"/v1/batches/{AnyId(_batches)}/results"), creates: true);
    }
}
