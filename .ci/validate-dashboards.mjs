// Validates each dashboard JSON against Grafana's own dashboard schema: the JSON Schema that
// ts-json-schema-generator makes from @grafana/schema's Dashboard type (unknown properties
// refused).
// Usage: node validate-dashboards.mjs SCHEMA.json DASHBOARD.json...
import { readFileSync } from "node:fs";
import Ajv from "ajv";

const [schemaPath, ...dashboards] = process.argv.slice(2);
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));
let failed = 0;
for (const path of dashboards) {
  if (validate(JSON.parse(readFileSync(path, "utf8")))) {
    console.log(`${path}: valid`);
  } else {
    failed += 1;
    for (const e of validate.errors.slice(0, 20)) {
      console.error(`${path}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    }
  }
}
process.exit(failed === 0 ? 0 : 1);
