using System.Text;
using System.Text.Json.Nodes;

namespace FitService.Api.Tests.Security;

/// <summary>One malformed or hostile request.</summary>
public sealed record HostileCase(string Method, string Path, string? ContentType, Func<byte[]>? Body, params (string Name, string Value)[] Headers);

/// <summary>
/// The corpus: requests that must each be answered 4xx problem details and store nothing. Part generated (every
/// truncation of a valid body, every field with values of the wrong type or out of range, duplicates, nesting),
/// part written by hand (huge strings, invalid UTF-8, unknown media types, header and query abuse).
/// </summary>
public static class HostileRequests
{
    public const int MaxPoints = 100_000; // body limit 64 × 100,000 + 1 MiB ≈ 7.4 MB

    private const string Valid = """{"x":[1,2,3],"y":[2,4,6],"degree":1,"loss":"mse","learningRate":0.01,"steps":10}""";

    private const string Rich = """
        {"x":[-2.0,-1.0,0.0,1.0,2.0],"y":[9.0,2.0,1.0,6.0,17.0],"degree":2,"loss":"huber","huberDelta":1.5,"learningRate":0.01,
         "steps":100,"initialParams":[1.1,1.1,1.1],"optimizer":{"type":"sgd","momentum":0.9,"dampening":0,"nesterov":true},
         "schedule":{"type":"step","every":10,"gamma":0.5},"stop":{"minImprovement":0.001,"patience":5},"historyEvery":2,"label":"rich"}
        """;

    private static readonly string[] Fields =
        ["x", "y", "degree", "loss", "learningRate", "steps", "initialParams", "optimizer", "schedule", "stop", "historyEvery", "label", "webhook", "huberDelta"];

    /// <summary>Values that are wrong for every field: wrong JSON types, or a number beyond any double.</summary>
    private static readonly string[] WrongForAll = ["{}", "true", "[[1]]", "1e400", "-1e400"];

    private static readonly Dictionary<string, string[]> WrongFor = new()
    {
        ["x"] = ["\"1,2,3\"", "[1,\"2\",3]", "[null,1,2]", "[1,2]", "[]", "[1,2,1e400]", "[1,2," + new string('9', 400) + "]", "null", "[true,1,2]"],
        ["y"] = ["[1,2,3,4]", "[{},1,2]", "[1,2,-1e400]", "null", "\"abc\""],
        ["degree"] = ["-1", "2.5", "21", "\"1\"", "99999999999", "-0.5", "1e1", new string('9', 400)],
        ["loss"] = ["\"MAE\"", "\"\"", "\"l1\"", "\"mae \"", "1"],
        ["learningRate"] = ["0", "-1", "-1e-300", "\"0.1\"", "\"NaN\"", "\"Infinity\"", "-0"],
        ["steps"] = ["0", "-5", "1.5", "100001", "\"10\"", "1e3", "2147483648"],
        ["initialParams"] = ["[1]", "[1,2,3,4]", "[1,\"a\"]", "[1e400,1]", "\"1,2\""],
        ["optimizer"] = ["{\"type\":\"rmsprop\"}", "{\"type\":\"sgd\",\"momentum\":-1}", "{\"type\":\"adam\",\"beta1\":1.5}", "{\"type\":\"sgd\",\"nesterov\":true}",
            "{\"type\":\"SGD\"}", "{\"type\":\"sgd\",\"extra\":1}", "{\"type\":\"adam\",\"epsilon\":-1}", "{\"type\":null}", "\"sgd\""],
        ["schedule"] = ["{\"type\":\"step\"}", "{\"type\":\"cosine\",\"minLearningRate\":-1}", "{\"type\":\"oneCycle\",\"warmupFraction\":0}",
            "{\"type\":\"exponential\",\"gamma\":0}", "{\"type\":\"step\",\"every\":0,\"gamma\":0.5}", "\"constant\""],
        ["stop"] = ["{\"patience\":3}", "{\"lossBelow\":1e400}", "{\"minImprovement\":-1}", "{\"minImprovement\":0.1,\"patience\":-1}", "1"],
        ["historyEvery"] = ["0", "-1", "1.5", "\"2\""],
        ["label"] = ["\"" + new string('a', 201) + "\"", "1", "[\"a\"]"],
        ["webhook"] = ["{\"url\":\"ftp://example.test/x\"}", "{\"url\":\"not a url\"}", "{\"url\":\"\"}", "\"http://example.test\"", "{\"uri\":\"http://example.test\"}"],
        ["huberDelta"] = ["1", "0.5"], // with loss mse
    };

    public static readonly Lazy<Dictionary<string, HostileCase>> All = new(Build);

    public static IEnumerable<object[]> Names => All.Value.Keys.Select(k => new object[] { k });

    private static Dictionary<string, HostileCase> Build()
    {
        var cases = new Dictionary<string, HostileCase>();
        void Json(string name, string body, params (string, string)[] headers) => cases.Add(name, new("POST", "/v1/fits", "application/json", () => Utf8(body), headers));
        void Raw(string name, string? contentType, Func<byte[]> body, params (string, string)[] headers) => cases.Add(name, new("POST", "/v1/fits", contentType, body, headers));

        // Generated: every 4th truncation of a rich valid body.
        var rich = Rich.Trim();
        for (var i = 0; i < rich.Length - 1; i += 4) Json($"truncated at {i}", rich[..i]);

        // Generated: each field with values of the wrong type, and with values out of range.
        foreach (var field in Fields)
        {
            foreach (var value in WrongForAll.Concat(WrongFor[field])) Json($"{field} = {Short(value)}", With(field, value));
        }

        // Generated: each field given twice (the second one valid, so only the duplication is wrong), and nested duplicates.
        foreach (var field in Fields.Where(f => JsonNode.Parse(Rich)![f] is not null))
        {
            var node = JsonNode.Parse(Rich)!.AsObject();
            var json = node.ToJsonString();
            var duplicate = $"\"{field}\":{node[field]!.ToJsonString()}";
            Json($"duplicate {field}", json.Insert(json.Length - 1, "," + duplicate));
        }
        Json("duplicate optimizer.momentum", With("optimizer", "{\"type\":\"sgd\",\"momentum\":0.1,\"momentum\":0.2}"));
        Json("duplicate schedule.type", With("schedule", "{\"type\":\"constant\",\"type\":\"constant\"}"));

        // Generated: nesting beyond the reader's depth, in arrays and in objects, at the top and inside fields.
        foreach (var depth in new[] { 17, 64, 1_000, 100_000 })
        {
            Json($"array nesting {depth}", new string('[', depth) + new string(']', depth));
            Json($"object nesting {depth}", string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth));
            Json($"x nested {depth}", With("x", new string('[', depth) + "1" + new string(']', depth)));
            Json($"optimizer nested {depth}", With("optimizer", string.Concat(Enumerable.Repeat("{\"type\":", depth)) + "1" + new string('}', depth)));
        }
        Json("unclosed nesting 100000", new string('[', 100_000));

        // Not a fit at all.
        foreach (var (name, body) in new[]
        {
            ("empty body", ""), ("whitespace body", "   \n\t "), ("null", "null"), ("array", "[]"), ("string", "\"fit\""), ("number", "42"),
            ("true", "true"), ("empty object", "{}"), ("comment", "/* c */" + Valid), ("trailing comma", Valid.Insert(Valid.Length - 1, ",")),
            ("two objects", Valid + Valid), ("single quotes", Valid.Replace('"', '\'')), ("unquoted keys", "{x:[1],y:[1],degree:0}"),
            ("NaN literal", With("learningRate", "0.1").Replace("0.1", "NaN")), ("Infinity literal", With("learningRate", "0.1").Replace("0.1", "Infinity")),
            ("hex number", With("steps", "1").Replace(":1", ":0x10")), ("leading zeros", With("steps", "1").Replace(":1", ":0010")),
            ("plus sign", With("steps", "1").Replace(":1", ":+1")), ("unknown field", With("colour", "\"red\"")),
            ("case-variant field", Valid.Replace("\"degree\"", "\"Degree\"")), ("prototype pollution", With("__proto__", "{\"admin\":true}")),
            ("tenant field", With("tenant", "\"globex\"")), ("id field", With("id", "\"0193f2c4a1b27c3d9e4f5a6b7c8d9e0f\"")),
            ("status field", With("status", "\"succeeded\"")), ("escaped control in key", Valid.Replace("\"loss\"", "\"lo\\u0000ss\"")),
            ("BOM then garbage", "\uFEFF{"), ("only a key", "{\"x\"}"), ("missing colon", "{\"x\" [1]}"), ("NUL byte", Valid.Insert(5, "\0")),
        })
        {
            Json(name, body);
        }

        // Huge values: strings far beyond any field's need, and bodies beyond the limit.
        Raw("10 MB label", "application/json", () => Utf8(With("label", "\"" + new string('a', 10 * 1024 * 1024) + "\"")));
        Raw("5 MB label", "application/json", () => Utf8(With("label", "\"" + new string('a', 5 * 1024 * 1024) + "\"")));
        Raw("5 MB loss", "application/json", () => Utf8(With("loss", "\"" + new string('m', 5 * 1024 * 1024) + "\"")));
        Raw("1 MB property name", "application/json", () => Utf8(With(new string('k', 1024 * 1024), "1")));
        Raw("100 KB webhook url", "application/json", () => Utf8(With("webhook", "{\"url\":\"https://example.test/" + new string('p', 100_000) + "\"}")));
        Raw("5000-char label", "application/json", () => Utf8(With("label", "\"" + new string('é', 2500) + "\"")));
        Raw("10 MB of points", "application/json", () => Utf8("{\"x\":[" + string.Join(',', Enumerable.Repeat("1.2345678901234567", 600_000)) + "]}"));
        Raw("too many points", "application/json", () => Utf8(PointsBody(MaxPoints + 1)));
        Raw("8 MB of whitespace", "application/json", () => Utf8(new string(' ', 8 * 1024 * 1024) + Valid));
        Raw("long number", "application/json", () => Utf8(With("learningRate", "0." + new string('0', 100_000) + "1")));

        // Invalid UTF-8 in strings, names and structure.
        Raw("invalid UTF-8 in label", "application/json", () => Splice(With("label", "\"ab\""), "ab", [0x61, 0xFF, 0x62]));
        Raw("overlong UTF-8 in loss", "application/json", () => Splice(Valid, "mse", [0xC0, 0xAF]));
        Raw("truncated UTF-8 in label", "application/json", () => Splice(With("label", "\"ab\""), "ab", [0x61, 0xE2, 0x82]));
        Raw("invalid UTF-8 in a name", "application/json", () => Splice(Valid, "loss", [0x6C, 0xFE, 0x73]));
        Raw("surrogate bytes in label", "application/json", () => Splice(With("label", "\"ab\""), "ab", [0xED, 0xA0, 0x80]));
        Raw("UTF-16 body", "application/json", () => Encoding.Unicode.GetBytes(Valid));
        Raw("UTF-32 body", "application/json", () => Encoding.UTF32.GetBytes(Valid));
        Raw("random bytes", "application/json", () => { var b = new byte[4096]; new Random(7).NextBytes(b); return b; });

        // Media types: a valid fit, sent as something the service does not read.
        foreach (var type in new[]
        {
            null, "text/plain", "application/xml", "text/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
            "application/octet-stream", "text/json", "application/jsonx", "application", "*/*", "application/*", "json", "text/html",
            "application/json-seq", "image/png", new string('a', 4000) + "/json",
        })
        {
            Raw($"content type {Short(type ?? "none")}", type, () => Utf8(Valid));
        }

        // Headers that make an otherwise valid fit unacceptable.
        Json("idempotency key of 10 KB", Valid, ("Idempotency-Key", new string('k', 10_000)));
        Json("idempotency key with control characters", Valid, ("Idempotency-Key", "a\u0001b"));
        Json("idempotency key of 201 chars", Valid, ("Idempotency-Key", new string('k', 201)));
        Json("invalid body with absurd Prefer", "{", ("Prefer", "wait=99999999999999999999"));
        Json("invalid body with negative Prefer", "{", ("Prefer", "wait=-1"));
        Json("invalid body with forged tenant header", With("degree", "-1"), ("X-Tenant", "globex"));

        // CSV points with bad rows, values or fields.
        const string csvQuery = "/v1/fits?degree=1&loss=mse&learningRate=0.01&steps=10";
        void Csv(string name, string path, string body) => cases.Add(name, new("POST", path, "text/csv", () => Utf8(body)));
        Csv("csv letters", csvQuery, "x,y\n1,a\n2,b\n");
        Csv("csv 1e400", csvQuery, "1,2\n1e400,3\n");
        Csv("csv NaN", csvQuery, "1,2\nNaN,3\n");
        Csv("csv one column", csvQuery, "1\n2\n3\n");
        Csv("csv three columns, a missing y column", csvQuery + "&y=sales", "1,2,3\n4,5,6\n");
        Csv("csv empty", csvQuery, "");
        Csv("csv header only", csvQuery, "x,y\n");
        Csv("csv short row", "/v1/fits", "a,b,c\n1,2,3\n2\n");
        Csv("csv unknown field", csvQuery + "&colour=red", "1,2\n2,3\n");
        Csv("csv bad degree", csvQuery.Replace("degree=1", "degree=abc"), "1,2\n2,3\n");
        Csv("csv negative steps", csvQuery.Replace("steps=10", "steps=-10"), "1,2\n2,3\n");
        Csv("csv huge line", csvQuery, "1," + new string('9', 100_000) + "\n");
        Csv("csv long label", csvQuery + "&label=" + new string('a', 300), "1,2\n2,3\n");
        cases.Add("csv invalid UTF-8", new("POST", csvQuery, "text/csv", () => [0x31, 0x2C, 0xFF, 0x0A]));
        cases.Add("csv too many points", new("POST", csvQuery, "text/csv", () => Utf8(string.Concat(Enumerable.Repeat("1,2\n", MaxPoints + 1)))));

        // Methods and queries that do not exist or do not fit.
        void Call(string name, string method, string path) => cases.Add(name, new(method, path, null, null));
        Call("PUT fits", "PUT", "/v1/fits");
        Call("PATCH fits", "PATCH", "/v1/fits");
        Call("DELETE collection", "DELETE", "/v1/fits");
        Call("POST to a fit", "POST", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f");
        Call("list limit 0", "GET", "/v1/fits?limit=0");
        Call("list limit -1", "GET", "/v1/fits?limit=-1");
        Call("list limit huge", "GET", "/v1/fits?limit=99999999999");
        Call("list limit text", "GET", "/v1/fits?limit=abc");
        Call("list status bogus", "GET", "/v1/fits?status=bogus");
        Call("list cursor garbage", "GET", "/v1/fits?cursor=%00%01");
        Call("list cursor forged", "GET", "/v1/fits?cursor=" + Uri.EscapeDataString(Convert.ToBase64String(Encoding.ASCII.GetBytes("s-1 OR 1=1"))));
        Call("history offset -1", "GET", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f/history?offset=-1");
        Call("history limit 0", "GET", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f/history?limit=0");
        Call("history limit huge", "GET", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f/history?limit=1000000000");
        Call("unknown fit", "GET", "/v1/fits/0193f2c4a1b27c3d9e4f5a6b7c8d9e0f");
        Call("SQL in id", "GET", "/v1/fits/" + Uri.EscapeDataString("' OR '1'='1"));
        Call("path traversal in id", "GET", "/v1/fits/..%2F..%2Fetc%2Fpasswd");
        Call("very long id", "GET", "/v1/fits/" + new string('a', 4000));
        Call("cancel unknown", "POST", "/v1/fits/%FF%FE/cancel");
        Call("delete unknown", "DELETE", "/v1/fits/" + new string('f', 32));

        AddBatches(cases);
        AddFinderRuns(cases);
        AddEvaluations(cases);
        AddMoreCsv(cases);
        AddReadsAndQueries(cases);
        AddHeaderAbuse(cases);
        return cases;
    }

    private const string UnknownId = "0193f2c4a1b27c3d9e4f5a6b7c8d9e0f";

    private const string ValidBatch = """{"defaults":{"degree":1,"loss":"mse","learningRate":0.01,"steps":10},"fits":[{"x":[1,2,3],"y":[2,4,6],"label":"a"},{"x":[1,2,3],"y":[3,5,7]}],"label":"b"}""";

    /// <summary>Batches: every field wrong inside an item and in the defaults, the batch's own shape wrong, truncations.</summary>
    private static void AddBatches(Dictionary<string, HostileCase> cases)
    {
        void Batch(string name, string body, params (string, string)[] headers) =>
            AddUnique(cases, "batch: " + name, new("POST", "/v1/batches", "application/json", () => Utf8(body), headers));

        foreach (var field in Fields)
        {
            foreach (var value in WrongFor[field].Take(3).Append(WrongForAll[0]))
            {
                // null means "the default" (in an item the batch's, in the defaults the service's): no error here.
                if (value == "null") continue;
                Batch($"fits[1].{field} = {Short(value)}", ItemWith(field, value));
                if (field is not ("x" or "y")) Batch($"defaults.{field} = {Short(value)}", DefaultsWith(field, value));
            }
        }
        foreach (var (name, body) in new[]
        {
            ("no fits", """{"defaults":{"degree":1}}"""), ("fits empty", """{"fits":[]}"""), ("fits null", """{"fits":null}"""),
            ("fits an object", """{"fits":{"x":[1,2],"y":[1,2]}}"""), ("fits a string", """{"fits":"all"}"""),
            ("a null item", """{"defaults":{"degree":1,"loss":"mse","learningRate":0.01,"steps":10},"fits":[null]}"""),
            ("a number item", """{"defaults":{"degree":1,"loss":"mse","learningRate":0.01,"steps":10},"fits":[1]}"""),
            ("defaults an array", """{"defaults":[],"fits":[{"x":[1,2,3],"y":[1,2,3]}]}"""),
            ("unknown top-level field", ValidBatch.Insert(1, "\"colour\":\"red\",")),
            ("duplicate fits", ValidBatch.Insert(1, "\"fits\":[],")), ("duplicate defaults", ValidBatch.Insert(1, "\"defaults\":{},")),
            ("label too long", ValidBatch.Replace("\"label\":\"b\"", "\"label\":\"" + new string('b', 201) + "\"")),
            ("label a number", ValidBatch.Replace("\"label\":\"b\"", "\"label\":7")),
            ("webhook a string", ValidBatch.Insert(1, "\"webhook\":\"http://example.test\",")),
            ("webhook ftp", ValidBatch.Insert(1, "\"webhook\":{\"url\":\"ftp://example.test/x\"},")),
            ("webhook loopback", ValidBatch.Insert(1, "\"webhook\":{\"url\":\"http://127.0.0.1/x\"},")),
            ("webhook metadata", ValidBatch.Insert(1, "\"webhook\":{\"url\":\"http://169.254.169.254/latest\"},")),
            ("item webhook private", ValidBatch.Replace("\"label\":\"a\"", "\"label\":\"a\",\"webhook\":{\"url\":\"http://10.0.0.1/x\"}")),
            ("item webhook credentials", ValidBatch.Replace("\"label\":\"a\"", "\"label\":\"a\",\"webhook\":{\"url\":\"https://u:p@example.test/x\"}")),
            ("an item with a tenant", ValidBatch.Replace("\"label\":\"a\"", "\"label\":\"a\",\"tenant\":\"globex\"")),
            ("nesting 10000", "{\"fits\":" + new string('[', 10_000) + new string(']', 10_000) + "}"),
            ("not json", "fits=1"), ("empty", ""), ("null", "null"), ("array", "[" + ValidBatch + "]"),
        })
        {
            Batch(name, body);
        }
        AddUnique(cases, "batch: too many fits", new("POST", "/v1/batches", "application/json",
            () => Utf8("{\"defaults\":{\"x\":[1,2],\"y\":[1,2],\"degree\":1,\"loss\":\"mse\",\"learningRate\":0.01,\"steps\":1},\"fits\":[" +
                       string.Join(',', Enumerable.Repeat("{}", 10_001)) + "]}")));
        AddUnique(cases, "batch: as csv", new("POST", "/v1/batches", "text/csv", () => Utf8("1,2\n2,3\n")));
        AddUnique(cases, "batch: as form", new("POST", "/v1/batches", "application/x-www-form-urlencoded", () => Utf8("fits=1")));
        AddUnique(cases, "batch: no content type", new("POST", "/v1/batches", null, () => Utf8(ValidBatch)));
        var batch = ValidBatch;
        for (var i = 0; i < batch.Length - 1; i += 9) Batch($"truncated at {i}", batch[..i]);
        foreach (var (method, path) in new[]
        {
            ("GET", $"/v1/batches/{UnknownId}"), ("GET", $"/v1/batches/{UnknownId}/results"), ("POST", $"/v1/batches/{UnknownId}/cancel"),
            ("DELETE", $"/v1/batches/{UnknownId}"), ("GET", $"/v1/batches/{UnknownId}/deliveries"), ("POST", $"/v1/batches/{UnknownId}/deliveries/retry"),
            ("PUT", "/v1/batches"), ("GET", "/v1/batches"), ("PATCH", $"/v1/batches/{UnknownId}"), ("GET", "/v1/batches/" + new string('b', 3000)),
            ("GET", $"/v1/batches/{UnknownId}/results?format=csv"),
        })
        {
            AddUnique(cases, $"batch: {method} {Short(path)}", new(method, path, null, null));
        }
    }

    /// <summary>Finder runs: each field wrong, the shape wrong, unknown ids.</summary>
    private static void AddFinderRuns(Dictionary<string, HostileCase> cases)
    {
        const string valid = """{"x":[0,1,2,3],"y":[1,3,5,7],"degree":1,"loss":"mse","startLearningRate":1e-6,"endLearningRate":1,"steps":50}""";
        void Finder(string name, string body) => AddUnique(cases, "lr-finder: " + name, new("POST", "/v1/lr-finder", "application/json", () => Utf8(body)));
        var wrong = new Dictionary<string, string[]>
        {
            ["x"] = ["[1]", "[1,\"a\",2,3]", "null", "[1,2,3,1e400]"],
            ["y"] = ["[1,2]", "\"y\"", "[1,2,3,-1e400]"],
            ["degree"] = ["-1", "21", "1.5", "\"1\""],
            ["loss"] = ["\"L2\"", "\"\"", "3"],
            ["startLearningRate"] = ["0", "-1", "2", "\"small\"", "1e400"],
            ["endLearningRate"] = ["0", "1e-9", "-1", "1e400", "[1]"],
            ["steps"] = ["0", "-1", "1.5", "100000000", "\"50\""],
            ["initialParams"] = ["[1]", "[1,2,3]", "[\"a\",1]"],
            ["optimizer"] = ["{\"type\":\"rmsprop\"}", "{\"type\":\"sgd\",\"momentum\":-1}", "\"adam\""],
            ["label"] = ["\"" + new string('l', 201) + "\"", "{}"],
            ["huberDelta"] = ["-1", "\"1\""],
        };
        foreach (var (field, values) in wrong)
        {
            foreach (var value in values) Finder($"{field} = {Short(value)}", WithIn(valid, field, value));
        }
        Finder("unknown field", WithIn(valid, "schedule", "{\"type\":\"constant\"}"));
        Finder("colour", WithIn(valid, "colour", "\"red\""));
        Finder("empty object", "{}");
        Finder("array", "[]");
        Finder("truncated", valid[..30]);
        Finder("duplicate steps", valid.Insert(1, "\"steps\":5,"));
        Finder("nesting 5000", new string('[', 5000) + new string(']', 5000));
        AddUnique(cases, "lr-finder: csv", new("POST", "/v1/lr-finder", "text/csv", () => Utf8("1,2\n2,3\n")));
        AddUnique(cases, "lr-finder: text", new("POST", "/v1/lr-finder", "text/plain", () => Utf8(valid)));
        foreach (var (method, path) in new[]
        {
            ("GET", $"/v1/lr-finder/{UnknownId}"), ("GET", $"/v1/lr-finder/{UnknownId}/plot.svg"), ("DELETE", $"/v1/lr-finder/{UnknownId}"),
            ("PUT", "/v1/lr-finder"), ("GET", "/v1/lr-finder/" + new string('z', 3000)), ("GET", $"/v1/lr-finder/{UnknownId}/plot.svg?scale=bogus"),
        })
        {
            AddUnique(cases, $"lr-finder: {method} {Short(path)}", new(method, path, null, null));
        }
    }

    /// <summary>Evaluations: stored nowhere, but every bad one must still be a clear 4xx.</summary>
    private static void AddEvaluations(Dictionary<string, HostileCase> cases)
    {
        const string valid = """{"x":[1,2,3],"y":[2,4,6],"degree":1,"loss":"mse","params":[2,0]}""";
        void Evaluate(string name, string body) => AddUnique(cases, "evaluate: " + name, new("POST", "/v1/evaluate", "application/json", () => Utf8(body)));
        foreach (var (field, value) in new[]
        {
            ("params", "[1]"), ("params", "[1,2,3]"), ("params", "[1e400,1]"), ("params", "null"), ("params", "\"2,0\""),
            ("x", "[1,2]"), ("x", "[]"), ("y", "[1,\"a\",3]"), ("degree", "-1"), ("degree", "25"), ("loss", "\"rmse\""), ("loss", "null"),
            ("huberDelta", "-1"), ("steps", "10"), ("label", "\"x\""),
        })
        {
            Evaluate($"{field} = {Short(value)}", WithIn(valid, field, value));
        }
        Evaluate("empty", "");
        Evaluate("array", "[]");
        Evaluate("truncated", valid[..25]);
        // Legal in every field, but an mlp [300, 300] (91,201 params) on 2,000 rows is 1.8e8 points × params, beyond
        // Limits:MaxRequestWork: it took 36 s of the request thread at 100,000 rows before the bound.
        AddUnique(cases, "evaluate: mlp [300, 300] on 2,000 rows", new("POST", "/v1/evaluate", "application/json", () => Utf8(
            $$"""{"x":[{{string.Join(",", Enumerable.Repeat("[0.5]", 2000))}}],"y":[{{string.Join(",", Enumerable.Repeat("1", 2000))}}],"model":{"type":"mlp","layers":[300,300]},"loss":"mse","params":[{{string.Join(",", Enumerable.Repeat("0.01", 91_201))}}]}""")));
        AddUnique(cases, "evaluate: csv", new("POST", "/v1/evaluate", "text/csv", () => Utf8("1,2\n")));
        AddUnique(cases, "evaluate: GET", new("GET", "/v1/evaluate", null, null));
    }

    /// <summary>More CSV: separators, quoting, encodings, numbers, and every query field wrong.</summary>
    private static void AddMoreCsv(Dictionary<string, HostileCase> cases)
    {
        const string query = "/v1/fits?degree=1&loss=mse&learningRate=0.01&steps=10";
        void Csv(string name, string path, string body) => AddUnique(cases, "csv: " + name, new("POST", path, "text/csv", () => Utf8(body)));
        foreach (var (name, body) in new[]
        {
            ("Infinity", "1,2\nInfinity,3\n"), ("-Infinity", "1,2\n2,-Infinity\n"), ("1e309", "1,2\n1e309,3\n"),
            ("empty cells", ",\n,\n"), ("only newlines", "\n\n\n"),
            ("formula cells", "=1+1,2\n@A1,3\n"), ("json body", Valid), ("html", "<script>alert(1)</script>"), ("NUL", "1,2\n\0,3\n"),
            ("header in the middle", "1,2\nx,y\n3,4\n"), ("two headers", "x,y\nx,y\n1,2\n"),
            ("plus signs", "+1,+2\n+3,+4\n++5,6\n"), ("400 digits", "1," + new string('9', 400) + "\n2,3\n"),
        })
        {
            Csv(name, query, body);
        }
        const string points = "1,2\n2,4\n3,6\n";
        foreach (var (name, q) in new[]
        {
            ("degree twice", query + "&degree=2"), ("degree empty", query.Replace("degree=1", "degree=")), ("degree 1e3", query.Replace("degree=1", "degree=1e3")),
            ("loss bogus", query.Replace("loss=mse", "loss=bogus")), ("loss empty", query.Replace("loss=mse", "loss=")),
            ("learningRate 0", query.Replace("learningRate=0.01", "learningRate=0")), ("learningRate NaN", query.Replace("learningRate=0.01", "learningRate=NaN")),
            ("learningRate -1", query.Replace("learningRate=0.01", "learningRate=-1")), ("learningRate 1e400", query.Replace("learningRate=0.01", "learningRate=1e400")),
            ("steps 0", query.Replace("steps=10", "steps=0")), ("steps 1e9", query.Replace("steps=10", "steps=1000000000")),
            ("steps text", query.Replace("steps=10", "steps=ten")), ("steps 2^31", query.Replace("steps=10", "steps=2147483648")),
            ("historyEvery 0", query + "&historyEvery=0"), ("huberDelta with mse", query + "&huberDelta=1"),
            ("webhook loopback", query + "&webhook=http://127.0.0.1/x"),
            ("webhook.url loopback", query + "&webhook.url=http://127.0.0.1/x"),
            ("label 1 KB", query + "&label=" + new string('q', 1024)),
            ("percent garbage", query + "&%zz=1"),
        })
        {
            Csv("query " + name, q, points);
        }
        AddUnique(cases, "csv: UTF-16", new("POST", query, "text/csv", () => Encoding.Unicode.GetBytes(points)));
        AddUnique(cases, "csv: charset latin1", new("POST", query, "text/csv; charset=iso-8859-1", () => Utf8("1,2\n\u00e9,3\n")));
        AddUnique(cases, "csv: 8 MB of commas", new("POST", query, "text/csv", () => Utf8(new string(',', 8 * 1024 * 1024))));
        AddUnique(cases, "csv: a 2 MB line", new("POST", query, "text/csv", () => Utf8("1," + new string('1', 2 * 1024 * 1024) + "\n")));
    }

    /// <summary>Reads with bad ids and query parameters, on every GET route.</summary>
    private static void AddReadsAndQueries(Dictionary<string, HostileCase> cases)
    {
        void Call(string name, string method, string path) => AddUnique(cases, "read: " + name, new(method, path, null, null));
        foreach (var query in new[]
        {
            "limit=1.5", "limit=%00", "limit=", "limit=1e3", "limit=-0", "limit=2147483648", "status=queued,running", "status=",
            "status=SUCCEEDED%00", "cursor=", "cursor=" + new string('c', 3000), "cursor=..%2F..", "limit=10&limit=20",
        })
        {
            Call($"list {Short(query)}", "GET", "/v1/fits?" + query);
        }
        foreach (var suffix in new[]
        {
            "", "/history", "/history?offset=abc", "/history?limit=-5", "/history?offset=99999999999", "/plot.svg", "/plot.svg?scale=log",
            "/plot.svg?scale=%00", "/loss.svg", "/loss.svg?scale=" + new string('s', 300), "/events", "/deliveries", "/cancel", "/deliveries/retry",
        })
        {
            var method = suffix is "/cancel" or "/deliveries/retry" ? "POST" : "GET";
            Call($"unknown fit {method} {Short(suffix)}", method, $"/v1/fits/{UnknownId}{suffix}");
        }
        foreach (var id in new[] { "%2e%2e", "..", "%20", "a%2Fb", "%C0%AF", "null", "undefined", "-1", "0", "{id}", "%7Bid%7D", "*", "$(id)", "%3Cscript%3E" })
        {
            Call($"odd id {id}", "GET", $"/v1/fits/{id}");
            Call($"odd id {id} history", "GET", $"/v1/fits/{id}/history");
        }
        foreach (var (method, path) in new[]
        {
            ("TRACE", "/v1/fits"), ("PUT", $"/v1/fits/{UnknownId}"), ("PATCH", $"/v1/fits/{UnknownId}"), ("POST", $"/v1/fits/{UnknownId}/history"),
            ("DELETE", $"/v1/fits/{UnknownId}/history"), ("PUT", $"/v1/fits/{UnknownId}/plot.svg"), ("POST", "/v1/fits/"), ("GET", "/v1"), ("GET", "/v2/fits"),
            ("GET", "/v1/fits/" + UnknownId + "/nothing"), ("PUT", "/v1/evaluate"),
        })
        {
            Call($"{method} {Short(path)}", method, path);
        }
    }

    /// <summary>Header abuse beside a request that is itself invalid or refused (so nothing can be stored either way).</summary>
    private static void AddHeaderAbuse(Dictionary<string, HostileCase> cases)
    {
        void Fit(string name, params (string, string)[] headers) =>
            AddUnique(cases, "header: " + name, new("POST", "/v1/fits", "application/json", () => Utf8(Valid), headers));
        // The local mode serves loopback names only (DNS rebinding): a valid fit sent to another name is refused.
        foreach (var host in new[] { "attacker.example", "attacker.example:5080", "localhost.attacker.example", "192.168.1.10", "[fe80::1]", "0.0.0.0:80" })
        {
            Fit($"Host {host}", ("Host", host));
        }
        Fit("idempotency key empty-ish", ("Idempotency-Key", new string(' ', 300)));
        Fit("idempotency key of newlines", ("Idempotency-Key", new string('k', 250)));
        Fit("70 headers", Enumerable.Range(0, 70).Select(i => ($"X-H{i}", "v")).ToArray());
        Fit("a 40 KB header", ("X-Big", new string('a', 40 * 1024)));
        AddUnique(cases, "header: 9 KB URL", new("POST", "/v1/fits?label=" + new string('u', 9 * 1024), "application/json", () => Utf8(Valid)));
        foreach (var (name, header, value) in new[]
        {
            ("cross-site dashboard POST", "Sec-Fetch-Site", "cross-site"), ("foreign-origin dashboard POST", "Origin", "http://attacker.example"),
            ("same-site dashboard POST", "Sec-Fetch-Site", "same-site"),
        })
        {
            AddUnique(cases, "header: " + name, new("POST", "/hangfire/jobs/enqueued/delete", "application/x-www-form-urlencoded", () => Utf8("jobs[]=1"), (header, value)));
        }
    }

    /// <summary>Adds under <paramref name="name"/>, or under "name #2", "#3", … when shortened names collide.</summary>
    private static void AddUnique(Dictionary<string, HostileCase> cases, string name, HostileCase hostile)
    {
        var unique = name;
        for (var n = 2; cases.ContainsKey(unique); n++) unique = $"{name} #{n}";
        cases.Add(unique, hostile);
    }

    private static string ItemWith(string field, string json)
    {
        var node = JsonNode.Parse(ValidBatch)!.AsObject();
        var item = node["fits"]![1]!.AsObject();
        item.Remove(field);
        var text = node.ToJsonString();
        var itemText = item.ToJsonString();
        var patched = itemText.Insert(itemText.Length - 1, $"{(item.Count > 0 ? "," : "")}{System.Text.Json.JsonSerializer.Serialize(field)}:{json}");
        return text.Replace(itemText, patched);
    }

    private static string DefaultsWith(string field, string json)
    {
        var node = JsonNode.Parse(ValidBatch)!.AsObject();
        var defaults = node["defaults"]!.AsObject();
        defaults.Remove(field);
        var text = node.ToJsonString();
        var defaultsText = defaults.ToJsonString();
        return text.Replace(defaultsText, defaultsText.Insert(defaultsText.Length - 1, $",{System.Text.Json.JsonSerializer.Serialize(field)}:{json}"));
    }

    private static string WithIn(string valid, string field, string json)
    {
        var node = JsonNode.Parse(valid)!.AsObject();
        node.Remove(field);
        var text = node.ToJsonString();
        return text.Insert(text.Length - 1, $",{System.Text.Json.JsonSerializer.Serialize(field)}:{json}");
    }

    public static string With(string field, string json)
    {
        var node = JsonNode.Parse(Valid)!.AsObject();
        node.Remove(field);
        var text = node.ToJsonString();
        return text.Insert(text.Length - 1, $",{System.Text.Json.JsonSerializer.Serialize(field)}:{json}");
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static string PointsBody(int n)
    {
        var values = string.Join(',', Enumerable.Repeat("1", n));
        return $"{{\"x\":[{values}],\"y\":[{values}],\"degree\":1,\"loss\":\"mse\",\"learningRate\":0.01,\"steps\":1}}";
    }

    private static byte[] Splice(string json, string marker, byte[] replacement)
    {
        var bytes = Utf8(json);
        var at = json.IndexOf(marker, StringComparison.Ordinal);
        return [.. bytes[..at], .. replacement, .. bytes[(at + marker.Length)..]];
    }

    private static string Short(string value) => value.Length <= 40 ? value : $"{value[..20]}…({value.Length} chars)";
}
