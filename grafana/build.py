#!/usr/bin/env python3
"""Writes the shop's Grafana dashboards (grafana/dashboards/*.json) from the panels below.

Every query uses only series the services export (README "Metrics"), the `datasource`
variable (never a datasource uid) and `$__rate_interval`; every panel has a unit. CI runs this
and fails when the committed JSON differs, then evaluates every query against a real
Prometheus that scraped a running shop (.ci/observability).
It also copies the dashboards and grafana/alerts.yaml into project-helm/files/, which the chart
ships as ConfigMaps and a PrometheusRule.
Usage: python3 grafana/build.py
"""

import json
import pathlib

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


def service_var(multi=True):
    return {
        "name": "service",
        "label": "Service",
        "type": "query",
        "datasource": DS,
        "query": {"query": "label_values(shop_http_requests_total, service)", "refId": "service"},
        "refresh": 2,
        "multi": multi,
        "includeAll": multi,
        "sort": 1,
        "hide": 0,
    }


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
SVC = 'service=~"$service"'


def quantile(q, metric, by, selector=SVC):
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{selector}}}[{RATE}])))"


def table_target(expr, legend):
    return (expr, legend, {"instant": True, "format": "table"})


def overview():
    b = Board(
        "shop-overview",
        "Shop overview",
        "Per service: latency percentiles and transfer rates, request rate, error ratios, latency over time and its heatmap; the same from ingress-nginx where it runs.",
        [datasource_var(), service_var()],
    )
    b.row("Latency percentiles and transfer rates, per service")
    b.panel(
        "table",
        "Service percentile response times and transfer rates",
        [
            table_target(quantile(0.5, "shop_http_request_duration_seconds", "service"), "P50"),
            table_target(quantile(0.9, "shop_http_request_duration_seconds", "service"), "P90"),
            table_target(quantile(0.99, "shop_http_request_duration_seconds", "service"), "P99"),
            table_target(f"sum by (service) (rate(shop_http_request_bytes_total{{{SVC}}}[{RATE}]))", "IN"),
            table_target(f"sum by (service) (rate(shop_http_response_bytes_total{{{SVC}}}[{RATE}]))", "OUT"),
        ],
        "s",
        w=24,
        h=8,
        description="P50/P90/P99 latency from shop_http_request_duration_seconds; IN and OUT from the request and response body byte counters.",
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {
                "Value #A": "P50", "Value #B": "P90", "Value #C": "P99", "Value #D": "IN", "Value #E": "OUT"}}},
        ],
    )
    table = b.panels[-1]
    table["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byName", "options": n}, "properties": [{"id": "unit", "value": "Bps"}]}
        for n in ("IN", "OUT")
    ]
    b.row("$service", repeat="service")
    one = 'service="$service"'
    b.panel("timeseries", "Requests per second by operation",
            [(f"sum by (operation) (rate(shop_http_requests_total{{{one}}}[{RATE}]))", "{{operation}}")], "reqps", w=8)
    b.panel("timeseries", "Error ratio (5xx and 4xx apart)", [
        (f'(sum(rate(shop_http_requests_total{{{one},status=~"5.."}}[{RATE}])) or vector(0)) / sum(rate(shop_http_requests_total{{{one}}}[{RATE}]))', "5xx"),
        (f'(sum(rate(shop_http_requests_total{{{one},status=~"4.."}}[{RATE}])) or vector(0)) / sum(rate(shop_http_requests_total{{{one}}}[{RATE}]))', "4xx"),
    ], "percentunit", w=8)
    b.panel("timeseries", "Latency percentiles", [
        (quantile(q, "shop_http_request_duration_seconds", "service", one), f"P{int(q * 100)}")
        for q in (0.5, 0.9, 0.99)
    ], "s", w=8)
    b.panel("heatmap", "Latency heatmap", [
        (f"sum by (le) (increase(shop_http_request_duration_seconds_bucket{{{one}}}[{RATE}]))", "{{le}}",
         {"format": "heatmap"}),
    ], "s", w=12, options={"calculate": False, "yAxis": {"unit": "s"}})
    b.panel("timeseries", "Transfer rates", [
        (f"sum(rate(shop_http_request_bytes_total{{{one}}}[{RATE}]))", "IN"),
        (f"sum(rate(shop_http_response_bytes_total{{{one}}}[{RATE}]))", "OUT"),
    ], "Bps", w=12)
    b.row("ingress-nginx (no data where the cluster runs another Ingress controller)", collapsed=False)
    ingress = 'ingress=~".*"'
    b.panel(
        "table",
        "Ingress percentile response times and transfer rates",
        [
            table_target(quantile(0.5, "nginx_ingress_controller_request_duration_seconds", "ingress", ingress), "P50"),
            table_target(quantile(0.9, "nginx_ingress_controller_request_duration_seconds", "ingress", ingress), "P90"),
            table_target(quantile(0.99, "nginx_ingress_controller_request_duration_seconds", "ingress", ingress), "P99"),
            table_target(f"sum by (ingress) (rate(nginx_ingress_controller_request_size_sum[{RATE}]))", "IN"),
            table_target(f"sum by (ingress) (rate(nginx_ingress_controller_response_size_sum[{RATE}]))", "OUT"),
        ],
        "s",
        w=24,
        description="From ingress-nginx's own metrics, per Ingress; empty where it does not run.",
        transformations=[{"id": "merge", "options": {}}],
    )
    return b


def saga():
    b = Board(
        "shop-saga",
        "Order saga",
        "The saga's health: outcomes by reason, completion ratio, durations, step latency per participant, orders in flight and the oldest, needs_attention, the outbox backlog, and the participants' reservations.",
        [datasource_var()],
    )
    b.row("Outcomes")
    b.panel("timeseries", "Outcomes per minute, by reason",
            [(f"sum by (outcome, reason) (rate(shop_saga_outcomes_total[{RATE}])) * 60", "{{outcome}} {{reason}}")],
            "short", w=12)
    b.panel("stat", "Completion ratio",
            [(f'(sum(rate(shop_saga_outcomes_total{{outcome="completed"}}[{RATE}])) or vector(0)) / sum(rate(shop_saga_outcomes_total[{RATE}]))', "completed")],
            "percentunit", w=6)
    b.panel("stat", "Orders needing attention", [('sum(shop_orders{status="needs_attention"})', "needs_attention")],
            "short", w=6)
    b.panel("timeseries", "Saga duration percentiles", [
        (f"histogram_quantile({q}, sum by (le) (rate(shop_saga_duration_seconds_bucket[{RATE}])))", f"P{int(q * 100)}")
        for q in (0.5, 0.9, 0.99)
    ], "s", w=12)
    b.panel("timeseries", "Step latency P99, by participant and action", [
        (f"histogram_quantile(0.99, sum by (participant, action, le) (rate(shop_saga_step_duration_seconds_bucket[{RATE}])))",
         "{{participant}} {{action}}"),
    ], "s", w=12)
    b.panel("timeseries", "Calls to the participants: attempts per second by outcome (retries included)", [
        (f"sum by (peer, outcome) (rate(shop_http_client_attempts_total[{RATE}]))", "{{peer}} {{outcome}}"),
    ], "reqps", w=24, h=7)
    b.row("In flight")
    b.panel("timeseries", "Orders pending and needing attention", [
        ("sum by (status) (shop_orders)", "{{status}}"),
    ], "short", w=8)
    b.panel("timeseries", "Age of the oldest pending order", [
        ('max(shop_orders_oldest_age_seconds{status="pending"})', "oldest pending"),
    ], "s", w=8)
    b.panel("timeseries", "Outbox backlog and its oldest message", [
        ("sum(shop_outbox_backlog_messages)", "messages"),
        ("max(shop_outbox_oldest_age_seconds)", "oldest (s)"),
    ], "short", w=8)
    b.row("Participants")
    b.panel("timeseries", "Reservation protocol calls per second, by result", [
        (f"sum by (service, action, result) (rate(shop_reservations_total[{RATE}]))", "{{service}} {{action}} {{result}}"),
    ], "reqps", w=12)
    b.panel("timeseries", "Refusals per second (short, missing, refused)", [
        (f'sum by (service, result) (rate(shop_reservations_total{{action="reserve",result=~"short|missing|refused"}}[{RATE}]))',
         "{{service}} {{result}}"),
    ], "reqps", w=12)
    b.panel("timeseries", "Money held and captured", [
        (f"sum by (action) (rate(shop_payment_funds_cents_total[{RATE}]))", "{{action}}"),
    ], "short", w=12, description="Cents per second moved by payment-svc's reservations.")
    b.panel("timeseries", "Units held and sold", [
        (f"sum by (action) (rate(shop_stock_units_total[{RATE}]))", "{{action}}"),
    ], "short", w=12)
    b.row("Shoppers")
    b.panel("timeseries", "Logins per second, by outcome", [
        (f"sum by (outcome) (rate(shop_logins_total[{RATE}]))", "{{outcome}}"),
    ], "reqps", w=12,
        description="shed: answered 503 because too many password hashes were under way.")
    b.panel("timeseries", "Open message streams", [
        ("sum(shop_sse_streams_open)", "streams"),
    ], "short", w=12, description="GET /messages/stream connections held open by notify-svc.")
    return b


def service_detail():
    b = Board(
        "shop-service",
        "Service detail",
        "One service: its operations by rate, errors and latency, its database pool, CPU, memory and file descriptors.",
        [datasource_var(), service_var(multi=False)],
    )
    one = 'service="$service"'
    b.row("Operations")
    b.panel("timeseries", "Requests per second by operation and status",
            [(f"sum by (operation, status) (rate(shop_http_requests_total{{{one}}}[{RATE}]))", "{{operation}} {{status}}")],
            "reqps", w=12)
    b.panel("timeseries", "Errors per second by operation",
            [(f'sum by (operation, status) (rate(shop_http_requests_total{{{one},status=~"[45].."}}[{RATE}]))', "{{operation}} {{status}}")],
            "reqps", w=12)
    b.panel("timeseries", "P99 latency by operation", [
        (quantile(0.99, "shop_http_request_duration_seconds", "operation", one), "{{operation}}"),
    ], "s", w=12)
    b.panel("timeseries", "Requests in flight", [(f"sum(shop_http_requests_in_flight{{{one}}})", "in flight")], "short", w=12)
    b.row("Resources")
    b.panel("timeseries", "Database pool", [(f"sum by (state) (shop_db_pool_connections{{{one}}})", "{{state}}"),
                                            (f"sum(shop_db_pool_max_connections{{{one}}})", "limit")],
            "short", w=12)
    b.panel("timeseries", "CPU", [(f"rate(process_cpu_seconds_total{{{one}}}[{RATE}])", "cpu")], "percentunit", w=12,
            description="In the all-in-one shop binary the process is reported by user-svc only.")
    b.panel("timeseries", "Resident memory", [(f"process_resident_memory_bytes{{{one}}}", "rss")], "bytes", w=12)
    b.panel("timeseries", "Open file descriptors", [(f"process_open_fds{{{one}}}", "open"), (f"process_max_fds{{{one}}}", "max")],
            "short", w=12)
    return b


def main():
    HERE.mkdir(exist_ok=True)
    chart = HERE.parent.parent / "project-helm" / "files"
    (chart / "dashboards").mkdir(parents=True, exist_ok=True)
    for board in (overview(), saga(), service_detail()):
        text = json.dumps(board.json(), indent=2) + "\n"
        for path in (HERE / f"{board.uid}.json", chart / "dashboards" / f"{board.uid}.json"):
            path.write_text(text)
            print(f"wrote {path}")
    # Helm reads only the chart's own files: the chart ships a copy of the alerts too.
    (chart / "alerts.yaml").write_text((HERE.parent / "alerts.yaml").read_text())


if __name__ == "__main__":
    main()
