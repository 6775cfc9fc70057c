#!/usr/bin/env python3
"""The dashboards and rules against a real Prometheus scraping the chart's replicas as the
Prometheus Operator would.

From a rendered manifest (project-helm/ci/observability-values.yaml: two order-svc replicas, the
ServiceMonitors and the PrometheusRule on) it starts every replica on PostgreSQL the way
.ci/chart_run.py does, and a Prometheus whose scrape configuration is what the operator
generates for each rendered ServiceMonitor: kubernetes_sd targets (here static ones carrying the
same __meta_kubernetes_* labels) relabelled into job, namespace, service, pod, container and
endpoint. Its rules are the rendered PrometheusRule's. Then:

1. orders are placed through both order-svc replicas (completed ones and refusals); once every
   series has been scraped twice, every PromQL expression of every dashboard panel (variables
   substituted) and every rule must parse, and every panel must return data (the ingress-nginx
   ones excepted); the `$service` variable lists the six shop names and `$namespace` the
   release's; no series carries an `exported_*` label (a label the scrape clobbered);
2. payment-svc is killed and orders are placed: they stay pending. Each database-wide panel
   (orders by status, the outbox backlog) must equal the count in order-svc's database, though
   both replicas report it; ShopServiceDown's expression names payment-svc.

Usage: observability_check.py RENDERED.yaml BIN_DIR POSTGRES_URL PROMETHEUS_PORT
"""

import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import yaml

import chart_run
from chart_run import fail, http

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAMESPACE = "shop"
SHOP = ["user-svc", "order-svc", "payment-svc", "stock-svc", "delivery-svc", "notify-svc"]


def sanitize(name):
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def operator_scrape_configs(manifest, replicas, interval):
    """One scrape job per ServiceMonitor endpoint, relabelled as the Prometheus Operator
    relabels a ServiceMonitor's kubernetes_sd endpoints targets (its promcfg.go)."""
    configs = []
    for monitor in manifest.by_kind.get("ServiceMonitor", []):
        spec = monitor["spec"]
        selector = spec["selector"]["matchLabels"]
        (service,) = [s for s in manifest.services.values()
                      if all(s["metadata"]["labels"].get(k) == v for k, v in selector.items())]
        svc_name = service["metadata"]["name"]
        deployment = next(d for d in manifest.by_kind["Deployment"]
                          if all(d["spec"]["template"]["metadata"]["labels"].get(k) == v
                                 for k, v in service["spec"]["selector"].items()))
        container = deployment["spec"]["template"]["spec"]["containers"][0]["name"]
        for i, endpoint in enumerate(spec["endpoints"]):
            targets = []
            for r in replicas[deployment["metadata"]["name"]]:
                pod = f"{deployment['metadata']['name']}-5d8f7c9b4-{r.index:05d}"
                labels = {
                    "__meta_kubernetes_namespace": NAMESPACE,
                    "__meta_kubernetes_service_name": svc_name,
                    "__meta_kubernetes_pod_name": pod,
                    "__meta_kubernetes_pod_container_name": container,
                    "__meta_kubernetes_pod_phase": "Running",
                    "__meta_kubernetes_endpoint_port_name": service["spec"]["ports"][0]["name"],
                    "__meta_kubernetes_endpoint_address_target_kind": "Pod",
                    "__meta_kubernetes_endpoint_address_target_name": pod,
                }
                for k, v in service["metadata"]["labels"].items():
                    labels[f"__meta_kubernetes_service_label_{sanitize(k)}"] = v
                    labels[f"__meta_kubernetes_service_labelpresent_{sanitize(k)}"] = "true"
                targets.append({"targets": [f"127.0.0.1:{r.port}"], "labels": labels})
            relabel = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
            for k, v in selector.items():
                relabel.append({
                    "action": "keep",
                    "source_labels": [f"__meta_kubernetes_service_label_{sanitize(k)}",
                                      f"__meta_kubernetes_service_labelpresent_{sanitize(k)}"],
                    "regex": f"({v});true",
                })
            relabel += [
                {"action": "keep", "source_labels": ["__meta_kubernetes_endpoint_port_name"],
                 "regex": endpoint["port"]},
                {"source_labels": ["__meta_kubernetes_endpoint_address_target_kind",
                                   "__meta_kubernetes_endpoint_address_target_name"],
                 "separator": ";", "regex": "Node;(.*)", "replacement": "${1}", "target_label": "node"},
                {"source_labels": ["__meta_kubernetes_endpoint_address_target_kind",
                                   "__meta_kubernetes_endpoint_address_target_name"],
                 "separator": ";", "regex": "Pod;(.*)", "replacement": "${1}", "target_label": "pod"},
                {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
                {"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"],
                 "regex": "(Failed|Succeeded)"},
                {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job",
                 "replacement": "${1}"},
            ]
            if spec.get("jobLabel"):
                relabel.append({
                    "source_labels": [f"__meta_kubernetes_service_label_{sanitize(spec['jobLabel'])}"],
                    "target_label": "job", "regex": "(.+)", "replacement": "${1}",
                })
            relabel.append({"target_label": "endpoint", "replacement": endpoint["port"]})
            configs.append({
                "job_name": f"serviceMonitor/{NAMESPACE}/{monitor['metadata']['name']}/{i}",
                "honor_labels": bool(endpoint.get("honorLabels", False)),
                "metrics_path": endpoint.get("path", "/metrics"),
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "static_configs": targets,
                "relabel_configs": relabel,
            })
    if len(configs) != 6:
        fail(f"the render has {len(configs)} ServiceMonitor endpoints, not 6")
    return configs


def query(prometheus, expr):
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def result(prometheus, expr):
    answer = query(prometheus, expr)
    if answer.get("status") != "success":
        fail(f"{expr}: {answer.get('error')}")
    return answer["data"]["result"]


def substitute(expr, service):
    for var, value in (("$__rate_interval", "1m"), ("${service}", service), ("$service", service),
                       ("$cluster", ".*"), ("$namespace", NAMESPACE), ("$controller_namespace", ".*"),
                       ("$controller_class", ".*"), ("$controller", ".*"), ("$ingress", ".*")):
        expr = expr.replace(var, value)
    return expr


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


def login(url, name, password):
    status, _, body = http("POST", f"{url}/auth/login", {"username": name, "password": password})
    if status != 200:
        fail(f"login {name}: {status} {body}")
    return body["access_token"]


def place_orders(urls, order_replicas, admin_password):
    admin = login(urls["user-svc"], "admin", admin_password)
    _, _, product = http("POST", f"{urls['stock-svc']}/products", {"name": "Tea", "price": 10, "quantity": 50}, admin)
    http("POST", f"{urls['delivery-svc']}/couriers", {"name": "Bo", "daily_capacity": 100}, admin)
    name = f"obs{uuid.uuid4().hex[:8]}"
    http("POST", f"{urls['user-svc']}/users", {
        "username": name, "password": "observe-password", "email": f"{name}@example.com",
        "first_name": "Obs", "last_name": "Erver", "phone": "+4912345678"})
    token = login(urls["user-svc"], name, "observe-password")
    http("POST", f"{urls['user-svc']}/auth/login", {"username": name, "password": "wrong-password"})
    http("POST", f"{urls['payment-svc']}/balance/deposit", {"amount": 100}, token)
    statuses = []
    # Completed ones, then short of funds and of stock, through both order-svc replicas.
    for i, quantity in enumerate((1, 1, 2, 10, 1, 3, 60)):
        r = order_replicas[i % len(order_replicas)]
        status, _, _ = http("POST", f"{r.url}/orders", {"product_id": product["id"], "quantity": quantity}, token)
        statuses.append(status)
    print(f"observability: orders answered {statuses}")
    if 201 not in statuses or not ({402, 409} & set(statuses)):
        fail("the load placed no completed and no refused order")
    return token, product


def wait_scraped(prometheus, since, rules):
    """Until every series of the shop has two samples newer than `since` (rates need two), and
    every recording rule has recorded twice since (the panels that read them need them)."""
    names_query = 'group by (__name__) ({__name__=~"shop_.+|process_.+"})'
    recorded = sorted({f'{r["record"]}{{slo="{r["labels"]["slo"]}"}}'
                       for g in rules["groups"] for r in g["rules"] if "record" in r})
    deadline = time.monotonic() + 90
    while True:
        window = max(int(time.time() - since) + 1, 2)
        names = [r["metric"]["__name__"] for r in result(prometheus, names_query)]
        late = [n for n in [*names, *recorded]
                if not result(prometheus, f"min(count_over_time({n}[{window}s])) >= 2")]
        if names and not late:
            return
        if time.monotonic() > deadline:
            fail(f"not scraped or recorded twice in 90 s: {late}")
        time.sleep(0.5)


def check_dashboards_and_rules(prometheus, rules):
    failures, checked = [], 0
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        # The multi-value variable gets a regex; the single one a service with every kind of
        # series (order-svc: HTTP, saga, client calls, process).
        service = "order-svc" if board["uid"] == "shop-service" else ".*-svc"
        for var in board["templating"]["list"]:
            if var["type"] == "query" and "nginx" not in var["query"]["query"]:
                expr = var["query"]["query"]
                m = re.fullmatch(r"label_values\((.*), (\w+)\)", expr)
                values = {r["metric"].get(m.group(2), "")
                          for r in result(prometheus, f"group by ({m.group(2)}) ({substitute(m.group(1), service)})")}
                want = {"service": set(SHOP), "namespace": {NAMESPACE}, "cluster": {""}}[var["name"]]
                if values != want:
                    failures.append(f"{path.name}: ${var['name']} lists {sorted(values)}, not {sorted(want)}")
        for panel, row in panels(board):
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
    for group in rules["groups"]:
        for rule in group["rules"]:
            answer = query(prometheus, rule["expr"])
            checked += 1
            if answer.get("status") != "success":
                failures.append(f"rule {rule.get('alert') or rule.get('record')}: {answer.get('error')}")
    clobbered = result(prometheus, 'count by (__name__) ({__name__=~"shop_.+", exported_service!=""})'
                                   ' or count by (__name__) ({__name__=~"shop_.+", exported_namespace!=""})')
    if clobbered:
        failures.append(f"labels renamed by the scrape: {[c['metric'] for c in clobbered]}")
    for f in failures:
        print(f"observability: FAILED: {f}", file=sys.stderr)
    if failures:
        raise SystemExit(1)
    print(f"observability: {checked} dashboard and rule queries parse, every panel has data, "
          "$service lists the six services, no label was clobbered by the operator's relabelling")


def panel_exprs(uid, title):
    board = json.loads((ROOT / "grafana" / "dashboards" / f"{uid}.json").read_text())
    (panel,) = [p for p, _ in panels(board) if p["title"] == title]
    return [substitute(t["expr"], ".*-svc") for t in panel["targets"]]


def database_counts(order_replica):
    url = next(v for k, v in order_replica.env.items() if k.endswith("DATABASE_URL"))
    sql = ("SELECT status || '=' || count(*) FROM orders GROUP BY status "
           "UNION ALL SELECT 'outbox=' || count(*) FROM outbox WHERE delivered_at IS NULL")
    out = subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in (line.split("=") for line in out.split())}


def check_database_wide(prometheus, order_replicas, rules):
    counts = database_counts(order_replicas[0])
    (by_status,) = panel_exprs("shop-saga", "Orders pending and needing attention")
    shown = {r["metric"]["status"]: float(r["value"][1]) for r in result(prometheus, by_status)}
    backlog = panel_exprs("shop-saga", "Outbox backlog and its oldest message")[0]
    (outbox,) = result(prometheus, backlog)
    reporting = result(prometheus, f'count(shop_orders{{namespace="{NAMESPACE}", status="pending"}})')
    print(f"observability: database {counts}; the saga dashboard shows {shown} and outbox "
          f"{outbox['value'][1]}; {reporting[0]['value'][1]} order-svc replicas report the gauges")
    if int(reporting[0]["value"][1]) != len(order_replicas):
        fail(f"the gauges come from {reporting[0]['value'][1]} replicas, not {len(order_replicas)}")
    if counts.get("pending", 0) == 0:
        fail("no order was left pending while payment-svc was down")
    for status in ("pending", "refunding", "needs_attention"):
        if shown.get(status) != counts.get(status, 0):
            fail(f"orders {status}: the dashboard shows {shown.get(status)}, the database holds {counts.get(status, 0)}")
    if float(outbox["value"][1]) != counts["outbox"]:
        fail(f"outbox backlog: the dashboard shows {outbox['value'][1]}, the database holds {counts['outbox']}")
    down = next(r["expr"] for g in rules["groups"] for r in g["rules"] if r.get("alert") == "ShopServiceDown")
    jobs = {r["metric"]["job"] for r in result(prometheus, down)}
    if jobs != {"payment-svc"}:
        fail(f"ShopServiceDown's expression names {jobs}, not payment-svc")
    print("observability: each database-wide panel equals the database's count with two "
          "order-svc replicas reporting it; ShopServiceDown names the stopped payment-svc")


def main():
    rendered, bin_dir, postgres_url, prom_port = sys.argv[1:5]
    work = tempfile.mkdtemp(prefix="observability-")
    replicas, prometheus_proc, failed = {}, None, True
    try:
        manifest, replicas, service_urls, _ = chart_run.start(rendered, bin_dir, postgres_url)
        chart_run.wait_probes(replicas)
        by_short = {dep.rsplit("-", 2)[-2] + "-svc": rs for dep, rs in replicas.items()}
        order_replicas = by_short["order-svc"]
        if len(order_replicas) != 2:
            fail(f"{len(order_replicas)} order-svc replicas rendered, not 2")
        (rule,) = manifest.by_kind["PrometheusRule"]
        rules = {"groups": rule["spec"]["groups"]}
        (pathlib.Path(work) / "rules.yaml").write_text(yaml.safe_dump(rules))
        subprocess.run(["promtool", "check", "rules", f"{work}/rules.yaml"], check=True)
        config = {
            "global": {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "2s"},
            "rule_files": [f"{work}/rules.yaml"],
            "scrape_configs": operator_scrape_configs(manifest, replicas, "2s"),
        }
        (pathlib.Path(work) / "prometheus.yml").write_text(yaml.safe_dump(config))
        prometheus_proc = subprocess.Popen(
            ["prometheus", f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/tsdb",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=open(f"{work}/prometheus.log", "w"), stderr=subprocess.STDOUT)
        prometheus = f"http://127.0.0.1:{prom_port}"
        chart_run.wait_for(f"{prometheus}/-/ready", 60, "prometheus")
        urls = {short: rs[0].url for short, rs in by_short.items()}
        admin_password = next(v["admin-password"] for v in manifest.secrets.values() if "admin-password" in v)
        since = time.time()
        token, product = place_orders(urls, order_replicas, admin_password)
        wait_scraped(prometheus, since, rules)
        check_dashboards_and_rules(prometheus, rules)

        # A participant down: orders stay pending (202), read by both order-svc replicas.
        for r in by_short["payment-svc"]:
            r.proc.kill()
            r.proc.wait()
        for r in order_replicas:
            status, _, body = http("POST", f"{r.url}/orders", {"product_id": product["id"], "quantity": 1}, token)
            if status != 202:
                fail(f"an order with payment-svc down answered {status}: {body}")
        # Both replicas scraped since the orders were answered.
        since = time.time()
        fresh = f'count(timestamp(shop_orders{{status="pending"}}) > {since + 0.5}) == {len(order_replicas)}'
        deadline = time.monotonic() + 60
        while not result(prometheus, fresh):
            if time.monotonic() > deadline:
                fail("order-svc's replicas were not scraped after the pending orders")
            time.sleep(0.5)
        check_database_wide(prometheus, order_replicas, rules)
        failed = False
    finally:
        if prometheus_proc:
            prometheus_proc.terminate()
            prometheus_proc.wait()
            if failed:
                print(open(f"{work}/prometheus.log").read()[-3000:], file=sys.stderr)
        chart_run.show_logs_and_kill(replicas, failed)


if __name__ == "__main__":
    main()
