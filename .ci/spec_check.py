#!/usr/bin/env python3
"""The specs admins read: every public and internal spec of a running shop has a description;
every operation a one-line summary, statuses of its own (never the whole list of eleven) each
with its own wording, and a description of every parameter; every request body an example;
dates as `format: date`; and no internal operation on a public page.

Usage: spec_check.py BASE_PORT
"""

import json
import sys
import urllib.request

SERVICES = ["user", "order", "payment", "stock", "delivery", "notify"]
INTERNAL = ["payment", "stock", "delivery", "notify"]
EVERY_ERROR = {"400", "401", "402", "403", "404", "409", "413", "415", "422", "429", "503"}


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def has_example(spec, media):
    if "example" in media or "examples" in media:
        return True
    ref = media.get("schema", {}).get("$ref", "")
    schema = spec.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return "example" in schema


def check(name, spec, internal, failures):
    if not spec["info"].get("description"):
        failures.append(f"{name}: no info.description")
    if '"naive-date"' in json.dumps(spec):
        failures.append(f"{name}: a date is not format: date")
    ops = 0
    for path, item in spec["paths"].items():
        if path.startswith("/internal/") != internal:
            failures.append(f"{name}: {path} is on the wrong page")
        for method, op in item.items():
            ops += 1
            where = f"{name} {method.upper()} {path}"
            summary = op.get("summary", "")
            if not summary or "\n" in summary or len(summary) > 60:
                failures.append(f"{where}: summary {summary!r} is not one short line")
            codes = set(op["responses"])
            if EVERY_ERROR <= codes:
                failures.append(f"{where}: lists every error status")
            wordings = [r.get("description", "") for c, r in op["responses"].items() if c >= "400"]
            if len(set(wordings)) != len(wordings):
                failures.append(f"{where}: two statuses share their wording")
            for p in op.get("parameters", []):
                if not p.get("description"):
                    failures.append(f"{where}: parameter {p['name']} has no description")
            for media in op.get("requestBody", {}).get("content", {}).values():
                if not has_example(spec, media):
                    failures.append(f"{where}: the body has no example")
    return ops


def main():
    base = int(sys.argv[1])
    failures = []
    for i, short in enumerate(SERVICES):
        url = f"http://127.0.0.1:{base + i}/{short}"
        ops = check(f"{short}-svc", get(f"{url}/openapi.json"), False, failures)
        if short in INTERNAL:
            ops += check(f"{short}-svc internal", get(f"{url}/internal/openapi.json"), True, failures)
        print(f"spec-check: {short}-svc: {ops} operations checked")
    for f in failures:
        print(f"spec-check: FAILED: {f}", file=sys.stderr)
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
