#!/usr/bin/env python3
"""Admins' Swagger UI, in a real browser: headless Chromium opens every `/<svc>/docs` of a
running shop, and the rendered page must list every operation of that service's spec (Swagger
UI renders each as an element with `data-path`).

Usage: swagger_ui_check.py BASE_PORT CHROMIUM
"""

import json
import re
import subprocess
import sys
import tempfile
import urllib.request

SERVICES = ["user", "order", "payment", "stock", "delivery", "notify"]


def main():
    base, chromium = int(sys.argv[1]), sys.argv[2]
    failures = []
    for i, short in enumerate(SERVICES):
        url = f"http://127.0.0.1:{base + i}"
        with urllib.request.urlopen(f"{url}/{short}/openapi.json", timeout=10) as r:
            spec_paths = set(json.load(r)["paths"])
        with tempfile.TemporaryDirectory() as profile:
            dom = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                 "--dump-dom", f"{url}/{short}/docs"],
                capture_output=True, text=True, timeout=120, check=False,
            ).stdout
        shown = set(re.findall(r'data-path="([^"]*)"', dom))
        missing = spec_paths - shown
        if not spec_paths or missing:
            failures.append(f"{short}-svc's Swagger UI does not show {sorted(missing) or 'any path'}")
        else:
            print(f"swagger-ui: {short}-svc's page lists all {len(spec_paths)} paths of its spec")
    for f in failures:
        print(f"swagger-ui: FAILED: {f}", file=sys.stderr)
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
