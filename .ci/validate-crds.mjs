// Validates the rendered custom resources (ServiceMonitor, PrometheusRule; HTTPRoute) against
// the Prometheus Operator's and the Gateway API's CRD schemas, which kubernetes-validate skips;
// and refuses any rendered
// document with a duplicated key (YAML parsers that keep the last one hide such a bug).
// Usage: node validate-crds.mjs RENDERED.yaml...  (run where its node_modules are installed)
import { readFileSync } from "node:fs";
import { loadAll } from "js-yaml";
import { ServiceMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";

const models = { ServiceMonitor, PrometheusRule, HTTPRoute };
let checked = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  let docs;
  try {
    docs = loadAll(readFileSync(file, "utf8"));
  } catch (e) {
    failed += 1;
    console.error(`${file}: ${e.message.split("\n")[0]}`);
    continue;
  }
  for (const doc of docs) {
    const Model = doc && models[doc.kind];
    if (!Model) continue;
    try {
      new Model(doc).validate();
      checked += 1;
    } catch (e) {
      failed += 1;
      console.error(`${file}: ${doc.kind} ${doc.metadata?.name}: ${e.message}`);
    }
  }
}
console.log(`custom resources valid: ${checked}, invalid: ${failed}`);
process.exit(failed === 0 ? 0 : 1);
