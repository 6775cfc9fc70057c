#!/usr/bin/env python3
"""Checks the dashboards and alerts against a real Prometheus that scraped a running shop.

It places orders through the shop (completed ones and refusals), waits for Prometheus to
scrape them, then evaluates every PromQL expression of every dashboard panel (with the
dashboard variables substituted) and every alert rule through Prometheus's HTTP API. Each must
parse; each panel query must return data, except the ingress-nginx panels, which have none
without ingress-nginx. A query naming a series the services do not export returns nothing and
fails the check.

Usage: observability_check.py PROMETHEUS_URL SHOP_BASE_URL_PREFIX BASE_PORT ADMIN_PASSWORD
"""

import json
import pathlib
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def call(method, url, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def place_orders(base, admin_password):
    url = lambda i: f"http://127.0.0.1:{base + i}"  # noqa: E731
    _, admin = call("POST", f"{url(0)}/auth/login", {"username": "admin", "password": admin_password})
    admin = admin["access_token"]
    _, product = call("POST", f"{url(3)}/products", {"name": "Tea", "price": 10, "quantity": 5}, admin)
    call("POST", f"{url(4)}/couriers", {"name": "Bo", "daily_capacity": 100}, admin)
    name = f"obs{uuid.uuid4().hex[:8]}"
    call("POST", f"{url(0)}/users", {
        "username": name, "password": "observe-password", "email": f"{name}@example.com",
        "first_name": "Obs", "last_name": "Erver", "phone": "+4912345678"})
    _, token = call("POST", f"{url(0)}/auth/login", {"username": name, "password": "observe-password"})
    token = token["access_token"]
    call("POST", f"{url(0)}/auth/login", {"username": name, "password": "wrong-password"})
    call("POST", f"{url(2)}/balance/deposit", {"amount": 60}, token)
    statuses = []
    for quantity in (1, 1, 2, 10, 1, 3):  # completed, then short of funds and of stock
        status, _ = call("POST", f"{url(1)}/orders", {"product_id": product["id"], "quantity": quantity}, token)
        statuses.append(status)
    print(f"observability: orders answered {statuses}")
    if 201 not in statuses or not ({402, 409} & set(statuses)):
        raise SystemExit("observability: FAILED: the load placed no completed and no refused order")


def query(prometheus, expr):
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def substitute(expr, service):
    return (expr.replace("$__rate_interval", "1m").replace("${service}", service)
            .replace("$service", service))


def panels(board):
    """Every panel, with the row it is under (a collapsed row holds its panels itself)."""
    row = None
    for panel in board["panels"]:
        if panel["type"] == "row":
            row = panel
            for inner in panel.get("panels", []):
                yield inner, row
        else:
            yield panel, row


def main():
    prometheus, base, admin_password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    place_orders(base, admin_password)
    # Rates need two samples of a series: wait until every series the shop exports has been
    # scraped at least twice since the orders.
    names_query = 'group by (__name__) ({__name__=~"shop_.+|process_.+"})'
    deadline = time.monotonic() + 60
    while True:
        names = [r["metric"]["__name__"] for r in query(prometheus, names_query)["data"]["result"]]
        late = [n for n in names
                if not query(prometheus, f"min(count_over_time({n}[1m])) >= 2")["data"]["result"]]
        if names and not late:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"observability: FAILED: not scraped twice in 60 s: {late}")
        time.sleep(0.5)
    failures, checked = [], 0
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        # The multi-value variable gets a regex; the single one a service that reports every
        # series, process metrics included (user-svc, the first service of the shop binary).
        service = "user-svc" if board["uid"] == "shop-service" else ".*-svc"
        for panel, row in panels(board):
            # A row repeated per service: its panels name one service at a time.
            one = "order-svc" if row and row.get("repeat") == "service" else service
            if panel.get("fieldConfig", {}).get("defaults", {}).get("unit") in (None, ""):
                failures.append(f"{path.name}: panel {panel['title']!r} has no unit")
            if panel.get("datasource", {}).get("uid") != "${datasource}":
                failures.append(f"{path.name}: panel {panel['title']!r} names a datasource")
            for target in panel.get("targets", []):
                expr = substitute(target["expr"], one)
                if "$" in expr:
                    failures.append(f"{path.name}: a variable no dashboard defines: {expr}")
                answer = query(prometheus, expr)
                checked += 1
                if answer.get("status") != "success":
                    failures.append(f"{path.name}: {panel['title']!r}: {answer.get('error')}: {expr}")
                elif not answer["data"]["result"] and "nginx_ingress" not in expr:
                    failures.append(f"{path.name}: {panel['title']!r} returns no data: {expr}")
    rules = yaml.safe_load((ROOT / "grafana" / "alerts.yaml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            answer = query(prometheus, rule["expr"])
            checked += 1
            if answer.get("status") != "success":
                failures.append(f"alert {rule['alert']}: {answer.get('error')}")
    for f in failures:
        print(f"observability: FAILED: {f}", file=sys.stderr)
    if failures:
        raise SystemExit(1)
    print(f"observability: {checked} dashboard and alert queries parse, and every panel has data")


if __name__ == "__main__":
    main()
