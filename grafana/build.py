"""Writes the shop's Grafana dashboards (grafana/dashboards/*.json) and Prometheus rules
(grafana/alerts.yaml: the alerts, the SLOs' recording rules and burn-rate alerts, from
grafana/slo.py) from the descriptions below and the chart's values (project-helm/values.yaml:
the objectives, the latency threshold, the runbook address).

Every query uses only series the services export (README "Metrics") or the rules record, the
`datasource` variable (never a datasource uid), the `cluster` and `namespace` variables and
`$__rate_interval`; every panel has a unit. Database-wide gauges (the orders, the outbox), which
every replica of order-svc reads from the one database, are taken with `max` per namespace, never
summed over replicas. CI runs this and fails when the committed files differ, then evaluates every
query against a real Prometheus scraping two order-svc replicas with the Prometheus Operator's
relabelling (.ci/observability).
It also writes the chart's copies under project-helm/files/: the dashboards as they are, the rules
with Helm expressions for the values, which the chart renders into its PrometheusRule.
Usage: python3 grafana/build.py
"""

import json
import pathlib
import types

import yaml

import slo

DS = {"type": "prometheus", "uid": "${datasource}"}
HERE = pathlib.Path(__file__).parent / "dashboards"


def datasource_var():
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "hide": 0,
    }


def query_var(name, label, query, multi=False, include_all=False, all_value=None, regex=""):
    var = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": name},
        "refresh": 2,
        "multi": multi,
        "includeAll": include_all,
        "sort": 1,
        "hide": 0,
    }
    if all_value:
        var["allValue"] = all_value
    if regex:
        var["regex"] = regex
    return var


# Where the shop runs: `cluster` where Prometheus has the label (any, when it has none), and one
# namespace (none when the scrape sets no namespace: the selector then matches series without it).
WHERE = 'cluster=~"$cluster", namespace=~"$namespace"'


def where_vars():
    return [
        query_var("cluster", "Cluster", "label_values(shop_http_requests_total, cluster)",
                  include_all=True, all_value=".*"),
        query_var("namespace", "Namespace",
                  'label_values(shop_http_requests_total{cluster=~"$cluster"}, namespace)'),
    ]


def service_var(multi=True):
    return query_var(
        "service", "Service",
        f"label_values(shop_http_requests_total{{{WHERE}}}, shop_service)",
        multi=multi, include_all=multi, all_value=".*" if multi else None,
    )


class Board:
    def __init__(self, uid, title, description, variables):
        self.uid, self.title, self.description = uid, title, description
        self.variables = variables
        self.panels = []
        self.y = 0
        self.next_id = 1

    def row(self, title, repeat=None, collapsed=False):
        panel = {
            "type": "row",
            "title": title,
            "id": self._id(),
            "collapsed": collapsed,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "panels": [],
        }
        if repeat:
            panel["repeat"] = repeat
        self.panels.append(panel)
        self.y += 1
        self.x = 0

    def _id(self):
        self.next_id += 1
        return self.next_id - 1

    def panel(self, kind, title, targets, unit, w=12, h=8, description="", **extra):
        if getattr(self, "x", 0) + w > 24:
            self.x = 0
            self.y += h
        panel = {
            "type": kind,
            "title": title,
            "description": description,
            "id": self._id(),
            "datasource": DS,
            "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
            "targets": [
                {"datasource": DS, "refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, **t_extra}
                for i, (expr, legend, t_extra) in enumerate(
                    (t if len(t) == 3 else (t[0], t[1], {})) for t in targets
                )
            ],
        }
        panel.update(extra)
        self.panels.append(panel)
        self.x = getattr(self, "x", 0) + w
        if self.x >= 24:
            self.x = 0
            self.y += h

    def json(self):
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["shop"],
            "timezone": "utc",
            "schemaVersion": 39,
            "version": 1,
            "editable": True,
            "graphTooltip": 1,
            "refresh": "30s",
            "time": {"from": "now-1h", "to": "now"},
            "templating": {"list": self.variables},
            "annotations": {"list": []},
            "links": [],
            "panels": self.panels,
        }


RATE = "$__rate_interval"
SVC = f'{WHERE}, shop_service=~"$service"'
ONE = f'{WHERE}, shop_service="$service"'


def quantile(q, metric, by, selector=SVC):
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{selector}}}[{RATE}])))"


def db_wide(expr, by=""):
    """A gauge every replica reads from the one database: the same number from each, so one of
    them (max) per shop, summed over the shops shown."""
    inner = f"cluster, namespace, {by}" if by else "cluster, namespace"
    outer = f"sum by ({by})" if by else "sum"
    return f"{outer} (max by ({inner}) ({expr}))"


def table_target(expr, legend):
    return (expr, legend, {"instant": True, "format": "table"})


def percentile_table(b, title, metrics, by, selector, description):
    """The seed's table: P50/P90/P99 and IN/OUT per `by`, with named columns and units;
    `metrics` names the latency histogram and the byte counters in and out."""
    duration, bytes_in, bytes_out = metrics
    b.panel(
        "table",
        title,
        [
            table_target(quantile(0.5, duration, by, selector), "P50"),
            table_target(quantile(0.9, duration, by, selector), "P90"),
            table_target(quantile(0.99, duration, by, selector), "P99"),
            table_target(f"sum by ({by}) (rate({bytes_in}{{{selector}}}[{RATE}]))", "IN"),
            table_target(f"sum by ({by}) (rate({bytes_out}{{{selector}}}[{RATE}]))", "OUT"),
        ],
        "s",
        w=24,
        h=8,
        description=description,
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {
                "Value #A": "P50", "Value #B": "P90", "Value #C": "P99", "Value #D": "IN", "Value #E": "OUT"}}},
        ],
    )
    b.panels[-1]["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byName", "options": n}, "properties": [{"id": "unit", "value": "Bps"}]}
        for n in ("IN", "OUT")
    ]


# ingress-nginx's own metrics, filtered as its own dashboard filters them (the controller's
# namespace, class and pod), to the shop's Ingresses only (never the empty `ingress` of requests
# no Ingress matched, nor other teams' Ingresses).
INGRESS = ('ingress!="", ingress=~"$ingress", controller_namespace=~"$controller_namespace", '
           'controller_class=~"$controller_class", controller_pod=~"$controller"')


def ingress_vars():
    hash_ = "nginx_ingress_controller_config_hash"
    return [
        query_var("controller_namespace", "Ingress controller namespace",
                  f"label_values({hash_}, controller_namespace)", include_all=True, all_value=".*"),
        query_var("controller_class", "Ingress controller class",
                  f'label_values({hash_}{{controller_namespace=~"$controller_namespace"}}, controller_class)',
                  include_all=True, all_value=".*"),
        query_var("controller", "Ingress controller",
                  f'label_values({hash_}{{controller_namespace=~"$controller_namespace", '
                  f'controller_class=~"$controller_class"}}, controller_pod)',
                  include_all=True, all_value=".*"),
        # The chart names the Ingresses <release>-<service>.
        query_var("ingress", "Ingress",
                  'label_values(nginx_ingress_controller_requests{controller_namespace=~"$controller_namespace", '
                  'controller_class=~"$controller_class", controller_pod=~"$controller"}, ingress)',
                  multi=True, include_all=True,
                  all_value=".+-(user|order|payment|stock|delivery|notify)-svc",
                  regex="/.+-(user|order|payment|stock|delivery|notify)-svc$/"),
    ]


def overview():
    b = Board(
        "shop-overview",
        "Shop overview",
        "Per service: latency percentiles and transfer rates, request rate, error ratios, latency over time and its heatmap; the same from ingress-nginx where it runs.",
        [datasource_var(), *where_vars(), service_var(), *ingress_vars()],
    )
    b.row("Latency percentiles and transfer rates, per service")
    percentile_table(
        b, "Service percentile response times and transfer rates",
        ("shop_http_request_duration_seconds", "shop_http_request_bytes_total", "shop_http_response_bytes_total"),
        "shop_service", SVC,
        "P50/P90/P99 latency from shop_http_request_duration_seconds; IN and OUT from the request and response body byte counters. Probes and scrapes are not counted.")
    b.row("$service", repeat="service")
    b.panel("timeseries", "Requests per second by operation",
            [(f"sum by (operation) (rate(shop_http_requests_total{{{ONE}}}[{RATE}]))", "{{operation}}")], "reqps", w=8)
    b.panel("timeseries", "Error ratio (5xx and 4xx apart)", [
        (f'(sum(rate(shop_http_requests_total{{{ONE},status=~"5.."}}[{RATE}])) or vector(0)) / sum(rate(shop_http_requests_total{{{ONE}}}[{RATE}]))', "5xx"),
        (f'(sum(rate(shop_http_requests_total{{{ONE},status=~"4.."}}[{RATE}])) or vector(0)) / sum(rate(shop_http_requests_total{{{ONE}}}[{RATE}]))', "4xx"),
    ], "percentunit", w=8)
    b.panel("timeseries", "Latency percentiles", [
        (quantile(q, "shop_http_request_duration_seconds", "shop_service", ONE), f"P{int(q * 100)}")
        for q in (0.5, 0.9, 0.99)
    ], "s", w=8)
    b.panel("heatmap", "Latency heatmap", [
        (f"sum by (le) (increase(shop_http_request_duration_seconds_bucket{{{ONE}}}[{RATE}]))", "{{le}}",
         {"format": "heatmap"}),
    ], "s", w=12, options={"calculate": False, "yAxis": {"unit": "s"}})
    b.panel("timeseries", "Transfer rates", [
        (f"sum(rate(shop_http_request_bytes_total{{{ONE}}}[{RATE}]))", "IN"),
        (f"sum(rate(shop_http_response_bytes_total{{{ONE}}}[{RATE}]))", "OUT"),
    ], "Bps", w=12)
    b.row("ingress-nginx (no data where the cluster runs another Ingress controller)")
    percentile_table(
        b, "Ingress percentile response times and transfer rates",
        ("nginx_ingress_controller_request_duration_seconds", "nginx_ingress_controller_request_size_sum",
         "nginx_ingress_controller_response_size_sum"),
        "ingress", INGRESS,
        "From ingress-nginx's own metrics, per Ingress of the shop: what shoppers see, the Ingress hop included. Empty where ingress-nginx does not run.")
    b.panel("timeseries", "Ingress latency percentiles", [
        (quantile(q, "nginx_ingress_controller_request_duration_seconds", "ingress", INGRESS),
         f"{{{{ingress}}}} P{int(q * 100)}")
        for q in (0.5, 0.9, 0.99)
    ], "s", w=12)
    b.panel("heatmap", "Ingress latency heatmap", [
        (f"sum by (le) (increase(nginx_ingress_controller_request_duration_seconds_bucket{{{INGRESS}}}[{RATE}]))",
         "{{le}}", {"format": "heatmap"}),
    ], "s", w=12, options={"calculate": False, "yAxis": {"unit": "s"}})
    return b


def saga():
    b = Board(
        "shop-saga",
        "Order saga",
        "The saga's health: outcomes by reason, completion ratio, durations, step latency per participant, orders in flight and the oldest, needs_attention, the outbox backlog, and the participants' reservations.",
        [datasource_var(), *where_vars()],
    )
    at = f"{{{WHERE}}}"
    b.row("Outcomes")
    b.panel("timeseries", "Outcomes per minute, by reason",
            [(f"sum by (outcome, reason) (rate(shop_saga_outcomes_total{at}[{RATE}])) * 60", "{{outcome}} {{reason}}")],
            "short", w=12)
    b.panel("stat", "Completion ratio",
            [(f'(sum(rate(shop_saga_outcomes_total{{{WHERE}, outcome="completed"}}[{RATE}])) or vector(0)) / sum(rate(shop_saga_outcomes_total{at}[{RATE}]))', "completed")],
            "percentunit", w=6)
    b.panel("stat", "Orders needing attention",
            [(db_wide(f'shop_orders{{{WHERE}, status="needs_attention"}}'), "needs_attention")],
            "short", w=6, description="Read from the database by every order-svc replica: one of them counts.")
    b.panel("timeseries", "Saga duration percentiles", [
        (f"histogram_quantile({q}, sum by (le) (rate(shop_saga_duration_seconds_bucket{at}[{RATE}])))", f"P{int(q * 100)}")
        for q in (0.5, 0.9, 0.99)
    ], "s", w=12)
    b.panel("timeseries", "Step latency P99, by participant and action", [
        (f"histogram_quantile(0.99, sum by (participant, action, le) (rate(shop_saga_step_duration_seconds_bucket{at}[{RATE}])))",
         "{{participant}} {{action}}"),
    ], "s", w=12)
    b.panel("timeseries", "Calls to the participants: attempts per second by outcome (retries included)", [
        (f"sum by (peer, outcome) (rate(shop_http_client_attempts_total{at}[{RATE}]))", "{{peer}} {{outcome}}"),
    ], "reqps", w=24, h=7)
    b.row("In flight (read from the database by every order-svc replica: one of them counts)")
    b.panel("timeseries", "Orders pending and needing attention", [
        (db_wide(f"shop_orders{at}", "status"), "{{status}}"),
    ], "short", w=8)
    b.panel("timeseries", "Age of the oldest pending order", [
        (db_wide(f'shop_orders_oldest_age_seconds{{{WHERE}, status="pending"}}'), "oldest pending"),
    ], "s", w=8)
    b.panel("timeseries", "Outbox backlog and its oldest message", [
        (db_wide(f"shop_outbox_backlog_messages{at}"), "messages"),
        (f"max(shop_outbox_oldest_age_seconds{at})", "oldest (s)"),
    ], "short", w=8)
    b.row("Participants")
    b.panel("timeseries", "Reservation protocol calls per second, by result", [
        (f"sum by (shop_service, action, result) (rate(shop_reservations_total{at}[{RATE}]))", "{{shop_service}} {{action}} {{result}}"),
    ], "reqps", w=12)
    b.panel("timeseries", "Refusals per second (short, missing, refused)", [
        (f'sum by (shop_service, result) (rate(shop_reservations_total{{{WHERE}, action="reserve",result=~"short|missing|refused"}}[{RATE}]))',
         "{{shop_service}} {{result}}"),
    ], "reqps", w=12)
    b.panel("timeseries", "Money held and captured", [
        (f"sum by (action) (rate(shop_payment_funds_cents_total{at}[{RATE}]))", "{{action}}"),
    ], "short", w=12, description="Cents per second moved by payment-svc's reservations.")
    b.panel("timeseries", "Units held and sold", [
        (f"sum by (action) (rate(shop_stock_units_total{at}[{RATE}]))", "{{action}}"),
    ], "short", w=12)
    b.row("Shoppers")
    b.panel("timeseries", "Logins per second, by outcome", [
        (f"sum by (outcome) (rate(shop_logins_total{at}[{RATE}]))", "{{outcome}}"),
    ], "reqps", w=12,
        description="shed: answered 503 because too many password hashes were under way.")
    b.panel("timeseries", "Open message streams", [
        (f"sum(shop_sse_streams_open{at})", "streams"),
    ], "short", w=12, description="GET /messages/stream connections held open by notify-svc's replicas.")
    return b


def service_detail():
    b = Board(
        "shop-service",
        "Service detail",
        "One service: its operations by rate, errors and latency, its replicas' readiness and database pools, CPU, memory and file descriptors.",
        [datasource_var(), *where_vars(), service_var(multi=False)],
    )
    b.row("Operations")
    b.panel("timeseries", "Requests per second by operation and status",
            [(f"sum by (operation, status) (rate(shop_http_requests_total{{{ONE}}}[{RATE}]))", "{{operation}} {{status}}")],
            "reqps", w=12)
    b.panel("timeseries", "Errors per second by operation",
            [(f'sum by (operation, status) (rate(shop_http_requests_total{{{ONE},status=~"[45].."}}[{RATE}]))', "{{operation}} {{status}}")],
            "reqps", w=12)
    b.panel("timeseries", "P99 latency by operation", [
        (quantile(0.99, "shop_http_request_duration_seconds", "operation", ONE), "{{operation}}"),
    ], "s", w=12)
    b.panel("timeseries", "Requests in flight", [(f"sum(shop_http_requests_in_flight{{{ONE}}})", "in flight")], "short", w=12)
    b.row("Replicas and resources")
    b.panel("timeseries", "Replicas ready", [(f"sum(shop_ready{{{ONE}}})", "ready"),
                                             (f"count(shop_ready{{{ONE}}})", "scraped")],
            "short", w=12, description="shop_ready: the readiness check (database, migrations, disk), run at every scrape.")
    b.panel("timeseries", "Database pool, per replica", [(f"sum by (instance, state) (shop_db_pool_connections{{{ONE}}})", "{{instance}} {{state}}"),
                                                         (f"max(shop_db_pool_max_connections{{{ONE}}})", "limit per replica")],
            "short", w=12)
    b.panel("timeseries", "CPU, per replica", [(f"rate(process_cpu_seconds_total{{{ONE}}}[{RATE}])", "{{instance}}")], "percentunit", w=12,
            description="In the all-in-one shop binary the process is reported by user-svc only.")
    b.panel("timeseries", "Resident memory, per replica", [(f"process_resident_memory_bytes{{{ONE}}}", "{{instance}}")], "bytes", w=12)
    b.panel("timeseries", "Open file descriptors, per replica", [(f"process_open_fds{{{ONE}}}", "{{instance}} open"),
                                                                (f"process_max_fds{{{ONE}}}", "{{instance}} max")],
            "short", w=12)
    return b


def slo_board(objectives):
    b = Board(
        "shop-slo",
        "Shop SLOs",
        "Each SLO's objective, the error budget left over 30 days and the burn rates the alerts watch (recorded by the shop's rules, grafana/slo.py). A burn rate of 1 spends the budget in exactly 30 days.",
        [datasource_var(), *where_vars(), service_var()],
    )
    for name, what, objective, _, _, _ in slo.slos(objectives):
        sel = f'{SVC}, slo="{name}"'
        b.row(f"{name}: {what}")
        b.panel("stat", f"{name}: objective", [
            (f"vector({objective})", "objective"),
        ], "percentunit", w=4, h=6,
            description="The objective (monitoring.slos in project-helm/values.yaml; the chart's copy of this dashboard shows the values it was installed with).",
            options={"reduceOptions": {"calcs": ["lastNotNull"]}, "textMode": "value"})
        w_ = slo.BUDGET_WINDOW
        spent = (f"sum_over_time({slo.bad_record(w_)}{{{sel}}}[30d])\n/ clamp_min(sum_over_time("
                 f"{slo.events_record(w_)}{{{sel}}}[30d]), 1e-9)")
        b.panel("bargauge", f"{name}: error budget left, 30 days", [
            (f"1 - ({spent})\n/ (1 - {objective})", "{{shop_service}}"),
        ], "percentunit", w=8, h=6,
            description="1 - the budget spent: the bad events over 30 days (over the data there is, when Prometheus holds less) as a share of all events, against the share the objective allows. Counted, not averaged: a lull without traffic spends nothing.",
            options={"reduceOptions": {"calcs": ["lastNotNull"]}, "orientation": "horizontal"})
        b.panel("timeseries", f"{name}: burn rates", [
            (f"max by (shop_service) ({slo.burn_record(w)}{{{sel}}})", f"{{{{shop_service}}}} {w}")
            for w in ("5m", "1h", "6h", "1d")
        ], "short", w=12, h=6,
            description="Page: 14.4 over 1h and 5m, or 6 over 6h and 30m. Ticket: 3 over 1d and 2h, or 1 over 3d and 6h.")
    return b


ROOT = HERE.parent.parent

# The runbook address in grafana/alerts.yaml, which has no values to take it from: replace it
# with where your on-call reads docs/operations.md when you load the file by hand (the chart
# takes monitoring.runbookBaseUrl).
RUNBOOKS_STANDALONE = "https://git.example.org/shop/blob/main/docs/operations.md"
VALUES = ROOT / "project-helm" / "values.yaml"


def literal_blocks(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


class RulesDumper(yaml.SafeDumper):
    pass


RulesDumper.add_representer(str, literal_blocks)


def dump_rules(rules, header):
    return header + yaml.dump(rules, Dumper=RulesDumper, sort_keys=False, width=120)


# Stand-ins in the chart's copy of the rules, replaced by Helm expressions once Prometheus's own
# {{ }} templates are escaped.
HELM = {
    "HELM_AVAILABILITY": "{{ .Values.monitoring.slos.availability }}",
    "HELM_LATENCY_OBJECTIVE": "{{ .Values.monitoring.slos.latency.objective }}",
    "HELM_LATENCY_THRESHOLD": "{{ .Values.monitoring.slos.latency.threshold }}",
    "HELM_SAGA": "{{ .Values.monitoring.slos.saga }}",
    "HELM_MIN_RATE": "{{ .Values.monitoring.slos.minEventsPerSecond }}",
    "HELM_RUNBOOKS": "{{ .Values.monitoring.runbookBaseUrl }}",
    "HELM_NAMESPACE": "{{ .Release.Namespace }}",
}


def main():
    values = yaml.safe_load(VALUES.read_text())["monitoring"]
    defaults = types.SimpleNamespace(
        availability=values["slos"]["availability"],
        latency=values["slos"]["latency"]["objective"],
        latency_threshold=values["slos"]["latency"]["threshold"],
        saga=values["slos"]["saga"],
        min_rate=values["slos"]["minEventsPerSecond"],
        runbook_base=values["runbookBaseUrl"] or RUNBOOKS_STANDALONE,
        namespace=None,
    )
    in_chart = types.SimpleNamespace(
        availability="HELM_AVAILABILITY",
        latency="HELM_LATENCY_OBJECTIVE",
        latency_threshold="HELM_LATENCY_THRESHOLD",
        saga="HELM_SAGA",
        min_rate="HELM_MIN_RATE",
        runbook_base="HELM_RUNBOOKS",
        namespace="HELM_NAMESPACE",
    )
    HERE.mkdir(exist_ok=True)
    chart = ROOT / "project-helm" / "files"
    (chart / "dashboards").mkdir(parents=True, exist_ok=True)
    # The chart's copies carry the objectives as stand-ins that templates/dashboards.yaml
    # replaces with the values.
    for board, in_chart_board in ((overview(), None), (saga(), None), (service_detail(), None),
                                  (slo_board(defaults), slo_board(in_chart))):
        text = json.dumps(board.json(), indent=2) + "\n"
        path = HERE / f"{board.uid}.json"
        path.write_text(text)
        print(f"wrote {path}")
        if in_chart_board is not None:
            text = json.dumps(in_chart_board.json(), indent=2) + "\n"
        path = chart / "dashboards" / f"{board.uid}.json"
        path.write_text(text)
        print(f"wrote {path}")
    (HERE.parent / "alerts.yaml").write_text(dump_rules(slo.rules(defaults), (
        "# The shop's Prometheus rules, written by grafana/build.py from grafana/slo.py with the chart's\n"
        "# default values: do not edit. Unit-tested in alerts.test.yaml (promtool test rules). Loaded\n"
        f"# by hand, replace {RUNBOOKS_STANDALONE} with where your on-call reads it.\n")))
    text = dump_rules(slo.rules(in_chart), (
        "# The chart's copy of grafana/alerts.yaml, written by grafana/build.py: the values are Helm\n"
        "# expressions, Prometheus's own templates escaped. Rendered by templates/prometheusrule.yaml.\n"))
    text = text.replace("{{", '{{ "{{" }}')
    for token, expr in HELM.items():
        text = text.replace(token, expr)
    (chart / "alerts.yaml").write_text(text)
    print("wrote grafana/alerts.yaml and project-helm/files/alerts.yaml")


if __name__ == "__main__":
    main()
