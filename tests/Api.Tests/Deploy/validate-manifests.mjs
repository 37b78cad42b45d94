// Validates deployment files against their schemas: Kubernetes objects (any YAML file with apiVersion and kind) with the
// validators of the npm package kubernetes-models (generated from the Kubernetes OpenAPI schemas), unknown fields
// refused (see `reading`), a Compose file
// (--compose FILE) against the compose-spec JSON schema vendored beside this script. Prints one line per object and
// exits 1 if any is invalid. Run from a folder whose node_modules holds kubernetes-models, yaml and ajv (see .ci/run).
// Usage: node validate-manifests.mjs [--compose docker-compose.yml] manifest.yaml...
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import Ajv from "ajv";

let failed = false;
const report = (where, errors) => {
  if (errors.length === 0) { console.log(`ok      ${where}`); return; }
  failed = true;
  for (const error of errors) console.log(`INVALID ${where}: ${error}`);
};

// The Kubernetes OpenAPI schemas, and so kubernetes-models' validators, allow fields they do not name (a typo such as
// `replica:` would pass, and the API server would drop it). The validators read every field their schema names, and
// enumerate the keys of maps (labels, resource limits): so a field of an object that was neither read nor enumerated is
// unknown to the schema. `reading` gives the validator a view of the object that records this, object by object.
function reading(root) {
  const nodes = [];
  const wrap = (value, path) => {
    if (value === null || typeof value !== "object") return value;
    const node = { value, path, read: new Set(), enumerated: false, children: new Map() };
    nodes.push(node);
    return new Proxy(value, {
      get(target, key, receiver) {
        const child = Reflect.get(target, key, receiver);
        if (typeof key !== "string") return child;
        node.read.add(key);
        if (child === null || typeof child !== "object" || !Object.hasOwn(target, key)) return child;
        if (!node.children.has(key)) node.children.set(key, wrap(child, `${path}/${key}`));
        return node.children.get(key);
      },
      has(target, key) { if (typeof key === "string") node.read.add(key); return Reflect.has(target, key); },
      ownKeys(target) { node.enumerated = true; return Reflect.ownKeys(target); },
    });
  };
  const view = wrap(root, "");
  const unknown = () => nodes
    .filter(n => !Array.isArray(n.value) && !n.enumerated)
    .flatMap(n => Object.keys(n.value).filter(k => !n.read.has(k)).map(k => `${n.path}/${k} is not a field of this object's schema`));
  return { view, unknown };
}

const args = process.argv.slice(2);
const composeAt = args.indexOf("--compose");
const compose = composeAt >= 0 ? args.splice(composeAt, 2)[1] : null;

if (compose) {
  const schemaPath = join(dirname(fileURLToPath(import.meta.url)), "schemas", "compose-spec.json");
  const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
  // It names its draft (07) by another address than the one ajv registers for it.
  delete schema.$schema;
  // The spec's own formats (duration, ports, expose) are checked by Compose itself; the structure is what matters here.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  const documents = parseAllDocuments(readFileSync(compose, "utf8"), { merge: true });
  const file = documents[0].toJS({ maxAliasCount: -1 });
  validate(file);
  report(compose, (validate.errors ?? []).map(e => `${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` '${e.params.additionalProperty}'` : ""}`));
}

for (const path of args) {
  const documents = parseAllDocuments(readFileSync(path, "utf8"));
  for (const [index, document] of documents.entries()) {
    const where = `${path}#${index + 1}`;
    if (document.errors.length > 0) { report(where, document.errors.map(e => e.message)); continue; }
    const object = document.toJS();
    if (object === null) continue;
    if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") { report(where, ["no apiVersion and kind"]); continue; }
    let model;
    try {
      // Core objects are "v1/Kind"; the others "group/version/Kind".
      model = await import(`kubernetes-models/${object.apiVersion}/${object.kind}`);
    } catch {
      report(where, [`unknown apiVersion/kind ${object.apiVersion} ${object.kind}`]);
      continue;
    }
    const fields = reading(object);
    let errors = [];
    try {
      // The model's validate() runs the generated validator on `this`: here the recording view of the object.
      model[object.kind].prototype.validate.call(fields.view);
    } catch (error) {
      errors.push(error.message);
    }
    errors = errors.concat(fields.unknown());
    report(`${where} ${object.kind}/${object.metadata?.name}`, errors);
  }
}
process.exit(failed ? 1 : 0);
