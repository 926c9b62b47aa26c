// Validates Kubernetes manifests (multi-document YAML files, e.g. `kubectl kustomize` output) against the Kubernetes
// OpenAPI schemas compiled into kubernetes-models, offline. One line per document; exit 1 if any document is invalid
// or of a kind it has no schema for (an unknown kind is not silently accepted). Types, required fields and enums are
// checked; unknown fields are not (the generated schemas allow them).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (!/^[A-Za-z0-9.-]*$/.test(group) || !/^v[0-9a-z]+$/.test(version) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    return null;
  }
  const candidates = group === "monitoring.coreos.com"
    ? [`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`]
    : [`kubernetes-models/${group === "" ? "" : group + "/"}${version}/${kind}`];
  for (const name of candidates) {
    try {
      const mod = await import(name);
      if (typeof mod[kind] === "function") {
        return mod[kind];
      }
    } catch (e) {
      // not a known kind
    }
  }
  return null;
}

let failures = 0;
for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      console.log(`invalid ${file}: YAML: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) {
      continue;
    }
    const id = `${obj.kind}/${obj.metadata?.name}`;
    const Model = await modelFor(String(obj.apiVersion ?? ""), String(obj.kind ?? ""));
    if (Model === null) {
      console.log(`invalid ${file} ${id}: no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`);
      failures++;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`ok ${file} ${obj.apiVersion} ${id}`);
    } catch (e) {
      console.log(`invalid ${file} ${id}: ${String(e.message).split("\n").join("; ")}`);
      failures++;
    }
  }
}
process.exit(failures === 0 ? 0 : 1);
