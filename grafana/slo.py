"""The shop's Prometheus rules as code: the alerts that watch one fact each, and the SLOs with
their recording rules and multi-window, multi-burn-rate alerts (the SRE workbook's, chapter
"Alerting on SLOs").

The objectives, the latency threshold, the floor of events under which the burn-rate alerts stay
silent and the runbook address are the chart's values
(`monitoring.slos`, `monitoring.runbookBaseUrl` in project-helm/values.yaml): grafana/alerts.yaml
is written with their defaults, and the chart's copy with Helm expressions in their place, so
that `--set monitoring.slos.availability=0.995` changes the rules a cluster gets. The windows and
burn-rate factors are the workbook's and live here.

`rules(p)` builds both from one description: `p` says how to write a value (a number, or the
Helm expression that renders it) and whether to pin selectors to the release's namespace.
"""

# The recording windows: the alerts' long and short windows.
WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]

# (severity, [(burn-rate factor, long window, short window), ...]): a page when 2% of a
# 30-day budget goes in an hour or 5% in six hours; a ticket when 10% goes in a day or in
# three days.
BURN_ALERTS = [
    ("page", [(14.4, "1h", "5m"), (6, "6h", "30m")]),
    ("ticket", [(3, "1d", "2h"), (1, "3d", "6h")]),
]

SERVICES = ["user-svc", "order-svc", "payment-svc", "stock-svc", "delivery-svc", "notify-svc"]

BY = "namespace, shop_service"


def _sel(p, **matchers):
    """A label selector from label=value pairs (a value starting with `~` is a regex match);
    in the chart's copy pinned to the release's namespace."""
    if p.namespace:
        matchers["namespace"] = p.namespace
    ms = [f'{k}=~"{v[1:]}"' if v.startswith("~") else f'{k}="{v}"' for k, v in matchers.items()]
    return "{" + ", ".join(ms) + "}" if ms else ""


def _ratio_or_zero(bad, total):
    """bad / total, with 0 where nothing bad has happened yet (a counter that was never
    incremented has no series at all)."""
    return f"({bad} or {total} * 0)\n/\n{total}"


def slos(p):
    """(name, description, objective, {window: PromQL of the share of bad events},
    {window: PromQL of the events per second}, {window: PromQL of the bad events per second})."""
    def requests(w):
        return f"sum by ({BY}) (rate(shop_http_requests_total{_sel(p)}[{w}]))"

    def errors(w):
        return f'sum by ({BY}) (rate(shop_http_requests_total{_sel(p, status="~5..")}[{w}]))'

    def availability(w):
        return _ratio_or_zero(errors(w), requests(w))

    def answered(w):
        return f"sum by ({BY}) (rate(shop_http_request_duration_seconds_count{_sel(p)}[{w}]))"

    def fast(w):
        # Prometheus 3 writes a bucket bound as a float (le="1.0"), Prometheus 2 as exported
        # (le="1"): the threshold matches both.
        le = "~" + f"{p.latency_threshold}" + "(\\\\.0+)?"
        return (f"sum by ({BY}) (rate(shop_http_request_duration_seconds_bucket"
                f"{_sel(p, le=le)}[{w}]))")

    def latency(w):
        return f"1 - {fast(w)}\n/\n{answered(w)}"

    def slow(w):
        return f"{answered(w)}\n- {fast(w)}"

    def finished(w):
        ended = (f'rate(shop_saga_outcomes_total{_sel(p, outcome="~completed|cancelled")}[{w}])'
                 f"\n  or rate(shop_saga_needs_attention_total{_sel(p)}[{w}])")
        return f"sum by ({BY}) (\n  {ended}\n)"

    def failed(w):
        return (f'sum by ({BY}) (\n  rate(shop_saga_outcomes_total{_sel(p, reason="service_unavailable")}[{w}])'
                f"\n  or rate(shop_saga_needs_attention_total{_sel(p)}[{w}])\n)")

    def saga(w):
        return _ratio_or_zero(failed(w), finished(w))

    return [
        ("availability",
         "real requests (probes and scrapes are not counted) answered without a 5xx",
         p.availability, availability, requests, errors),
        ("latency",
         f"real requests answered within {p.latency_threshold} s",
         p.latency, latency, answered, slow),
        ("saga",
         "orders not failed by an unreachable participant (service_unavailable) nor set aside "
         "as needs_attention",
         p.saga, saga, finished, failed),
    ]


def _runbook(p, anchor):
    return f"{p.runbook_base}#runbook-{anchor}"


def _alert(p, name, expr, severity, summary, anchor, for_=None, description=None):
    rule = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "runbook_url": _runbook(p, anchor)}
    if description:
        rule["annotations"]["description"] = description
    return rule


def static_alerts(p):
    """One fact each, where a threshold still says something an SLO cannot."""
    jobs = "|".join(SERVICES)
    absent = "\nor ".join(f"absent(up{_sel(p, job=s)})" for s in SERVICES)
    return [
        _alert(p, "ShopServiceDown", f"up{_sel(p, job='~' + jobs)} == 0", "page",
               "{{ $labels.job }} ({{ $labels.instance }}) cannot be scraped", "service-down",
               for_="2m"),
        _alert(p, "ShopServiceAbsent", absent, "page",
               "no target of {{ $labels.job }} is scraped at all (pods Pending, image not pulled, "
               "no ServiceMonitor?)", "service-absent", for_="10m"),
        _alert(p, "ShopNotReady", f"max by ({BY}, instance) (shop_ready{_sel(p)}) == 0", "page",
               "{{ $labels.shop_service }} ({{ $labels.instance }}) is not ready: its database does "
               "not answer, its migrations are pending or its disk is low", "not-ready", for_="2m"),
        _alert(p, "ShopOrdersStuckPending",
               f'max by ({BY}) (shop_orders_oldest_age_seconds{_sel(p, status="pending")}) > 600',
               "page", "an order has been pending for more than 10 minutes", "stuck-orders",
               for_="5m"),
        _alert(p, "ShopOrdersNeedAttention",
               f'max by ({BY}) (shop_orders{_sel(p, status="needs_attention")}) > 0',
               "ticket", "{{ $value }} orders need an admin's attention", "needs-attention"),
        _alert(p, "ShopOutboxBacklogGrowing",
               f"max by ({BY}) (shop_outbox_oldest_age_seconds{_sel(p)}) > 300\n"
               f"and max by ({BY}) (delta(shop_outbox_backlog_messages{_sel(p)}[10m])) > 0",
               "ticket", "messages to users are not getting through to notify-svc", "outbox",
               for_="5m"),
        _alert(p, "ShopParticipantCallsFailing",
               f'sum by ({BY}, peer) (rate(shop_http_client_attempts_total{_sel(p, outcome="~5xx|error")}[5m]))\n'
               f"/ sum by ({BY}, peer) (rate(shop_http_client_attempts_total{_sel(p)}[5m])) > 0.1\n"
               f'and sum by ({BY}, peer) (rate(shop_http_client_attempts_total{_sel(p, outcome="~5xx|error")}[5m])) > 0.05',
               "ticket",
               "{{ $labels.shop_service }}'s calls to {{ $labels.peer }} fail: "
               "{{ $value | humanizePercentage }} of attempts answer 5xx or nothing",
               "participant-calls", for_="5m"),
        _alert(p, "ShopDatabasePoolSaturated",
               f'shop_db_pool_connections{_sel(p, state="in_use")}\n'
               f">= ignoring (state) shop_db_pool_max_connections{_sel(p)}",
               "ticket",
               "{{ $labels.shop_service }} ({{ $labels.instance }}) has had every database "
               "connection in use at every scrape for 10 minutes", "pool-saturated", for_="10m"),
        _alert(p, "ShopLoginThrottlingSpike",
               f'sum by ({BY}) (rate(shop_logins_total{_sel(p, outcome="throttled")}[5m])) > 1',
               "ticket", "more than one throttled login per second: a password-guessing attack?",
               "login-throttling", for_="5m"),
        _alert(p, "ShopBooksDisagree",
               f"max by ({BY}, kind) (shop_books_discrepancies{_sel(p)}) > 0",
               "ticket",
               "the books audit found {{ $value }} orders on which order-svc and a participant "
               "disagree ({{ $labels.kind }})", "books"),
        _alert(p, "ShopDatabaseVolumeFilling",
               f'kubelet_volume_stats_available_bytes{_sel(p, persistentvolumeclaim="~.*-postgresql-0|.*-backup")}\n'
               f'/ kubelet_volume_stats_capacity_bytes{_sel(p, persistentvolumeclaim="~.*-postgresql-0|.*-backup")} < 0.15',
               "page",
               "{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free: the "
               "chart's PostgreSQL stops when its volume is full, its dumps when theirs is",
               "volume-filling", for_="10m"),
        _alert(p, "ShopDiskLow",
               f"shop_db_disk_free_bytes{_sel(p)} < 2 * shop_db_disk_reserve_bytes{_sel(p)}",
               "page",
               "{{ $labels.shop_service }} has {{ $value | humanize1024 }}B free under its "
               "database: at the reserve it stops taking orders", "disk-low", for_="2m"),
    ]


def ratio_record(window):
    return f"namespace_shop_service:shop_slo_errors:ratio_rate{window}"


def burn_record(window):
    return f"namespace_shop_service:shop_slo_burn_rate:rate{window}"


def events_record(window):
    return f"namespace_shop_service:shop_slo_events:rate{window}"


def bad_record(window):
    return f"namespace_shop_service:shop_slo_bad_events:rate{window}"


# The window of the bad events' record: summed over 30 days beside the events' record of the
# same window, they give the budget spent from counts, which a lull cannot turn into NaN.
BUDGET_WINDOW = "5m"


def recording_rules(p):
    rules = []
    for name, _, objective, bad_share, events, bad in slos(p):
        rules.append({"record": bad_record(BUDGET_WINDOW), "expr": f"{bad(BUDGET_WINDOW)}\nor {events(BUDGET_WINDOW)} * 0", "labels": {"slo": name}})
        for w in WINDOWS:
            rules.append({"record": events_record(w), "expr": events(w), "labels": {"slo": name}})
            rules.append({"record": ratio_record(w), "expr": bad_share(w), "labels": {"slo": name}})
            rules.append({
                "record": burn_record(w),
                "expr": f'{ratio_record(w)}{{slo="{name}"}}\n/ (1 - {objective})',
                "labels": {"slo": name},
            })
    return rules


def burn_alerts(p):
    alerts = []
    for name, what, _, _, _, _ in slos(p):
        for severity, pairs in BURN_ALERTS:
            # Below the floor of events over the long window, a burn rate is a handful of
            # events: one 5xx at one request a minute is no page.
            expr = "\nor\n".join(
                f'({burn_record(long)}{{slo="{name}"}} > {factor}\n'
                f' and {burn_record(short)}{{slo="{name}"}} > {factor}\n'
                f' and {events_record(long)}{{slo="{name}"}} >= {p.min_rate})'
                for factor, long, short in pairs
            )
            speed = " or ".join(f"{f}x over {l}" for f, l, _ in pairs)
            alerts.append({
                "alert": "ShopErrorBudgetBurn",
                "expr": expr,
                "labels": {"severity": severity, "slo": name},
                "annotations": {
                    "summary": "{{ $labels.shop_service }} is spending its " + name
                               + " error budget too fast (" + speed + ")",
                    "description": f"The {name} SLO: {what}.",
                    "runbook_url": _runbook(p, f"slo-{name}"),
                },
            })
    return alerts


def rules(p):
    return {
        "groups": [
            {"name": "shop", "rules": static_alerts(p)},
            {"name": "shop-slo-recording", "rules": recording_rules(p)},
            {"name": "shop-slo-alerts", "rules": burn_alerts(p)},
        ]
    }
