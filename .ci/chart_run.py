#!/usr/bin/env python3
"""Runs the Helm chart's wiring for real, without a cluster.

From a rendered manifest it takes every Deployment's command, environment (secret values
resolved from the rendered Secrets), replica count and probes, and starts each replica as a
process of the binary the command names. Service DNS names become 127.0.0.1 and a free port per
replica; the chart's PostgreSQL becomes the local server, set up with the chart's own init.sql.
Then it checks:

- every replica answers its startup, liveness and readiness probes on the rendered paths;
- the Ingresses route every public operation of the six live OpenAPI specs to its own service,
  and route no /internal/, /health/ or /metrics path at all;
- the seed's scenario: register, deposit 1000, order for 10 -> 990 and a "paid" message; order
  for 10000 -> 402, still 990, an "insufficient funds" message (order-svc's replicas take turns);
- ten failed logins for one name spread over two user-svc replicas lock it on both (429);
- the backup CronJob's script dumps the six databases pg_restore can read, keeping `keep` runs;
- SIGTERM stops every replica cleanly (exit 0).

Usage: chart_run.py RENDERED.yaml BIN_DIR POSTGRES_URL
"""

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import yaml

POSTGRES_TARGET = re.compile(r"@[a-z0-9-]+-postgresql:5432/")


def fail(message):
    print(f"{os.path.basename(sys.argv[0]).removesuffix('.py')}: FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, token=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, {k.lower(): v for k, v in r.headers.items()}, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return e.code, {k.lower(): v for k, v in e.headers.items()}, parsed


class Manifest:
    def __init__(self, path):
        docs = [d for d in yaml.safe_load_all(open(path)) if d]
        self.by_kind = {}
        for d in docs:
            self.by_kind.setdefault(d["kind"], []).append(d)
        self.secrets = {}
        for s in self.by_kind.get("Secret", []):
            values = dict(s.get("stringData") or {})
            self.secrets[s["metadata"]["name"]] = values
        self.services = {
            s["metadata"]["name"]: s for s in self.by_kind.get("Service", [])
        }

    def secret(self, ref):
        values = self.secrets.get(ref["name"])
        if values is None or ref["key"] not in values:
            if ref.get("optional"):
                return None
            fail(f"secret {ref['name']} has no key {ref['key']}")
        return values[ref["key"]]


class Replica:
    def __init__(self, deployment, index, command, env, port, container):
        self.deployment = deployment
        self.index = index
        self.command = command
        self.env = env
        self.port = port
        self.container = container
        self.proc = None
        self.log = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, bin_dir, log_dir):
        binary = os.path.join(bin_dir, os.path.basename(self.command[0]))
        if not os.access(binary, os.X_OK):
            fail(f"{self.deployment}: the command {self.command[0]} is no binary of the build")
        self.log = open(os.path.join(log_dir, f"{self.deployment}-{self.index}.log"), "w")
        self.proc = subprocess.Popen(
            [binary, *self.command[1:]],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def probe_url(self, probe):
        get = self.container[probe]["httpGet"]
        port = get["port"]
        if isinstance(port, str):
            named = [p for p in self.container["ports"] if p["name"] == port]
            if not named:
                fail(f"{self.deployment}: {probe} names no port {port}")
        return f"{self.url}{get['path']}"


def plan(manifest):
    """Replicas with their local ports, and the Service DNS -> local URL rewrite."""
    replicas = []
    for dep in manifest.by_kind["Deployment"]:
        name = dep["metadata"]["name"]
        count = dep["spec"].get("replicas", 1)
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        for i in range(count):
            replicas.append((name, i, container, free_port()))
    # A Service routes to its Deployment's pods; locally, to the first replica.
    service_urls = {}
    for svc_name, svc in manifest.services.items():
        selector = svc["spec"]["selector"]
        port = svc["spec"]["ports"][0]["port"]
        for name, i, _, local in replicas:
            dep = next(d for d in manifest.by_kind["Deployment"] if d["metadata"]["name"] == name)
            labels = dep["spec"]["template"]["metadata"]["labels"]
            if i == 0 and all(labels.get(k) == v for k, v in selector.items()):
                service_urls[f"http://{svc_name}:{port}"] = f"http://127.0.0.1:{local}"
    return replicas, service_urls


def environment(manifest, container, local_port, service_urls, postgres, moved=()):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    container_port = str((container.get("ports") or [{}])[0].get("containerPort", ""))
    for item in container.get("env", []):
        if "value" in item:
            value = str(item["value"])
        else:
            value = manifest.secret(item["valueFrom"]["secretKeyRef"])
            if value is None:
                continue
        for service, local in service_urls.items():
            value = value.replace(service, local)
        if value == container_port:
            value = str(local_port)  # the port to listen on: one per local replica
        value = POSTGRES_TARGET.sub(f"@{postgres}/", value)
        for mount_path, local in moved:
            if value.startswith(mount_path + "/"):
                value = local + value[len(mount_path):]
        env[item["name"]] = value
    return env


def prepare_databases(manifest, postgres_url):
    """Runs the chart's PostgreSQL init script (its ConfigMap) as the image would on an empty
    data directory, with the passwords its StatefulSet passes, against the local server."""
    (server,) = manifest.by_kind["StatefulSet"]
    (container,) = server["spec"]["template"]["spec"]["containers"]
    init = next(
        (c["data"]["init.sh"] for c in manifest.by_kind.get("ConfigMap", []) if "init.sh" in c.get("data", {})),
        None,
    )
    if init is None:
        fail("no ConfigMap carries the PostgreSQL init.sh")
    roles = re.findall(r"-v role=(\w+)", init)
    if len(roles) != 6:
        fail(f"init.sh creates {len(roles)} roles, not 6")
    drop = "".join(
        f'DROP DATABASE IF EXISTS "{r}" WITH (FORCE);\nDROP ROLE IF EXISTS "{r}";\n' for r in roles
    )
    subprocess.run(
        ["psql", postgres_url, "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"],
        input=drop.encode(),
        check=True,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )
    target = urllib.parse.urlparse(postgres_url)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGHOST": target.hostname or "127.0.0.1",
        "PGPORT": str(target.port or 5432),
        "POSTGRES_USER": target.username or "postgres",
    }
    for item in container.get("env", []):
        if "valueFrom" in item:
            env[item["name"]] = manifest.secret(item["valueFrom"]["secretKeyRef"])
    subprocess.run(["bash", "-c", init], env=env, check=True, stdout=subprocess.DEVNULL)


def materialize_secret_volumes(manifest, deployment, container, root):
    """Writes the Secret volumes `container` mounts under `root`; returns (mountPath, local
    directory) pairs for rewriting the paths its environment names."""
    dep = next(d for d in manifest.by_kind["Deployment"] if d["metadata"]["name"] == deployment)
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"].get("volumes", [])}
    moved = []
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        if "secret" not in volume:
            continue
        local = os.path.join(root, mount["name"])
        os.makedirs(local, exist_ok=True)
        name = volume["secret"]["secretName"]
        for item in volume["secret"].get("items", []):
            value = manifest.secret({"name": name, "key": item["key"]})
            with open(os.path.join(local, item["path"]), "w") as f:
                f.write(value)
        moved.append((mount["mountPath"], local))
    return moved


def wait_for(url, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    fail(f"{what}: {url} did not answer 200 within {seconds} s")


def ingress_target(manifest, host, path):
    """The backend Service an Ingress controller picks for path on host (Kubernetes
    semantics: Exact before Prefix, the longest matching prefix wins), or None."""
    best = None
    for ing in manifest.by_kind.get("Ingress", []):
        for rule in ing["spec"]["rules"]:
            if rule.get("host") != host:
                continue
            for p in rule["http"]["paths"]:
                rule_path = p["path"]
                if p["pathType"] == "Exact":
                    hit = path == rule_path
                    rank = (1, len(rule_path))
                else:
                    parts = [x for x in rule_path.split("/") if x]
                    hit = [x for x in path.split("/") if x][: len(parts)] == parts
                    rank = (0, len(rule_path))
                if hit and (best is None or rank > best[0]):
                    best = (rank, p["backend"]["service"]["name"])
    return best and best[1]


def check_ingresses(manifest, replicas):
    ingresses = manifest.by_kind.get("Ingress", [])
    if len(ingresses) != 6:
        fail(f"{len(ingresses)} Ingresses rendered, not 6")
    hosts = {r["host"] for i in ingresses for r in i["spec"]["rules"]}
    if len(hosts) != 1:
        fail(f"the Ingresses are on several hosts: {hosts}")
    (host,) = hosts
    checked = 0
    for dep, rs in replicas.items():
        short = dep.rsplit("-", 2)[-2]  # <fullname>-<short>-svc
        status, _, spec = http("GET", f"{rs[0].url}/{short}/openapi.json")
        if status != 200:
            fail(f"{dep}: no spec at /{short}/openapi.json")
        paths = list(spec["paths"]) + [f"/{short}/docs/", f"/{short}/openapi.json"]
        # The participants' internal spec and page: served on the service's port, never routed.
        status, _, internal = http("GET", f"{rs[0].url}/{short}/internal/openapi.json")
        if status == 200:
            paths += list(internal["paths"])
            for path in [f"/{short}/internal/docs", f"/{short}/internal/openapi.json"]:
                target = ingress_target(manifest, host, path)
                if target is not None:
                    fail(f"{path} is routed to {target}")
        for path in paths:
            concrete = re.sub(r"\{[^}]+\}", "0190a5d2-0000-7000-8000-000000000000", path)
            target = ingress_target(manifest, host, concrete)
            if path.startswith("/internal/"):
                if target is not None:
                    fail(f"{path} of {dep} is routed to {target}")
            elif target != dep:
                fail(f"{path} of {dep} is routed to {target}")
            checked += 1
        for path in ["/health/live", "/health/ready", "/metrics", "/internal/reservations"]:
            target = ingress_target(manifest, host, path)
            if target is not None:
                fail(f"{path} is routed to {target}")
    print(f"chart-run: the Ingresses route {checked} paths of the six live specs as they must")


def check_pools(everyone):
    """Each replica's pool is as large as its Deployment's SHOP_DATABASE_POOL_SIZE says."""
    for r in everyone:
        wanted = r.env.get("SHOP_DATABASE_POOL_SIZE")
        if not wanted:
            fail(f"{r.deployment} sets no SHOP_DATABASE_POOL_SIZE")
        with urllib.request.urlopen(f"{r.url}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        found = re.search(r"^shop_db_pool_max_connections\{[^}]*\} (\S+)$", text, re.M)
        if not found or float(found.group(1)) != float(wanted):
            fail(f"{r.deployment}[{r.index}] pool limit {found and found.group(1)}, rendered {wanted}")
    print("chart-run: every replica's pool limit is the rendered SHOP_DATABASE_POOL_SIZE")


def scenario(manifest, replicas):
    by_short = {dep.rsplit("-", 2)[-2]: rs for dep, rs in replicas.items()}
    user, order = by_short["user"], by_short["order"]
    payment, stock = by_short["payment"][0], by_short["stock"][0]
    delivery, notify = by_short["delivery"][0], by_short["notify"][0]
    admin_password = next(
        v["admin-password"] for v in manifest.secrets.values() if "admin-password" in v
    )

    def login(replica, name, password):
        status, _, body = http(
            "POST", f"{replica.url}/auth/login", {"username": name, "password": password}
        )
        return status, (body or {}).get("access_token") if status == 200 else None

    status, admin = login(user[0], "admin", admin_password)
    if status != 200:
        fail(f"the admin cannot log in with the chart's admin-password: {status}")
    status, _, product = http(
        "POST", f"{stock.url}/products", {"name": "Tea", "price": 10, "quantity": 2000}, admin
    )
    if status != 201:
        fail(f"POST /products: {status} {product}")
    status, _, body = http(
        "POST", f"{delivery.url}/couriers", {"name": "Bo", "daily_capacity": 50}, admin
    )
    if status != 201:
        fail(f"POST /couriers: {status} {body}")
    name = f"ann{uuid.uuid4().hex[:8]}"
    status, _, body = http(
        "POST",
        f"{user[-1].url}/users",
        {
            "username": name,
            "password": "ann-password",
            "email": f"{name}@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "phone": "+4912345678",
        },
    )
    if status != 201:
        fail(f"POST /users: {status} {body}")
    status, token = login(user[0], name, "ann-password")
    if status != 200:
        fail(f"login: {status}")
    status, _, body = http("POST", f"{payment.url}/balance/deposit", {"amount": 1000}, token)
    if status != 200:
        fail(f"deposit: {status} {body}")

    status, _, placed = http(
        "POST", f"{order[0].url}/orders", {"product_id": product["id"], "quantity": 1}, token
    )
    if status != 201 or placed.get("status") != "completed":
        fail(f"the order for 10: {status} {placed}")
    status, _, refused = http(
        "POST", f"{order[-1].url}/orders", {"product_id": product["id"], "quantity": 1000}, token
    )
    if status != 402 or refused.get("failure_reason") != "insufficient_funds":
        fail(f"the order for 10000: {status} {refused}")
    _, _, balance = http("GET", f"{payment.url}/balance", token=token)
    if balance["balance"] != 990 or balance["reserved"] != 0:
        fail(f"balance after both orders: {balance}")

    deadline = time.monotonic() + 15
    texts = []
    while time.monotonic() < deadline:
        _, _, messages = http("GET", f"{notify.url}/messages", token=token)
        texts = [m["text"] for m in messages["items"]]
        if len(texts) >= 2:
            break
        time.sleep(0.2)
    if not any(placed["id"] in t and "is paid" in t for t in texts):
        fail(f"no 'paid' message for {placed['id']}: {texts}")
    if not any(refused["order_id"] in t and "insufficient funds" in t for t in texts):
        fail(f"no 'insufficient funds' message: {texts}")
    print("chart-run: the seed's scenario passes (990 left, a paid and a refused message)")

    # Ten failures for one name, spread over the two user-svc replicas, lock it on both.
    if len(user) < 2:
        fail("render with two user-svc replicas (ci/replicas-values.yaml)")
    for i in range(10):
        status, _ = login(user[i % 2], name, "wrong-password")
        if status != 401:
            fail(f"failed login {i + 1}: {status}")
    for replica in user:
        status, headers, _ = http(
            "POST",
            f"{replica.url}/auth/login",
            {"username": name, "password": "ann-password"},
        )
        if status != 429 or not headers.get("retry-after"):
            fail(f"user-svc replica {replica.index} after 10 failures: {status}")
    print("chart-run: 10 failed logins over two user-svc replicas lock the name on both")


def check_credentials(manifest):
    """Each Deployment's checksum/secrets is that of the credentials it reads, as the rendered
    Secrets hold them (one generation per render, shared by every template), and the signing
    key reaches user-svc as a file, never in the environment."""
    secrets = manifest.secrets
    app = next(v for v in secrets.values() if "internal-token" in v)
    app_name = next(n for n, v in secrets.items() if "internal-token" in v)
    dbs_name, dbs = next((n, v) for n, v in secrets.items() if "postgres-password" in v)
    for dep in manifest.by_kind["Deployment"]:
        name = dep["metadata"]["name"]
        service = re.search(r"(user|order|payment|stock|delivery|notify)-svc$", name).group(0)
        reads = {
            "secret": app_name,
            "databases": dbs_name,
            "internal-token": app["internal-token"],
            "database": dbs[f"{service}-password"],
        }
        if service == "user-svc":
            reads["admin-password"] = app["admin-password"]
            reads["jwt-signing-key"] = app["jwt-signing-key"]
        wanted = hashlib.sha256(
            json.dumps(reads, separators=(",", ":"), sort_keys=True).encode()
        ).hexdigest()
        template = dep["spec"]["template"]
        if template["metadata"]["annotations"]["checksum/secrets"] != wanted:
            fail(f"{name}: checksum/secrets is not that of the credentials it reads")
        (container,) = template["spec"]["containers"]
        if any(e["name"] == "SHOP_JWT_SIGNING_KEY" for e in container.get("env", [])):
            fail(f"{name}: the signing key is in the environment")
    print("chart-run: every Deployment's checksum is that of the credentials it reads; the key is a file")


def run_helm_test(manifest, bin_dir, service_urls):
    """`helm test`'s pod, run against the replicas: every readiness check and spec answers."""
    pods = [
        p
        for p in manifest.by_kind.get("Pod", [])
        if p["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
    ]
    if len(pods) != 1:
        fail(f"{len(pods)} helm test pods rendered, not one")
    (c,) = pods[0]["spec"]["containers"]
    args = []
    for arg in c["command"][1:] + c.get("args", []):
        for service, local in service_urls.items():
            arg = arg.replace(service, local)
        args.append(arg)
    binary = os.path.join(bin_dir, os.path.basename(c["command"][0]))
    done = subprocess.run([binary, *args], capture_output=True, timeout=60)
    if done.returncode != 0:
        fail(f"helm test's check failed: {done.stderr.decode()[-500:]}")
    print(f"chart-run: helm test's check passes ({len(args) - 1} URLs through the Services)")


def rollout(manifest, replicas, bin_dir, log_dir, postgres_url):
    """A rollout across a schema change, simulated: while a client keeps ordering through
    order-svc's Service (its ready replicas, as kube-proxy sees them every half second), "the
    new release" applies a migration this build does not know to every database; the running
    replicas stay ready and serve; new order-svc replicas start, the old ones get SIGTERM, go
    unready, drain and exit 0; the client sees no failed request throughout."""
    by_short = {dep.rsplit("-", 2)[-2]: rs for dep, rs in replicas.items()}
    user, old = by_short["user"][0], by_short["order"]
    payment, stock, delivery = by_short["payment"][0], by_short["stock"][0], by_short["delivery"][0]
    admin_password = next(v["admin-password"] for v in manifest.secrets.values() if "admin-password" in v)
    _, _, body = http("POST", f"{user.url}/auth/login", {"username": "admin", "password": admin_password})
    admin = body["access_token"]
    _, _, product = http("POST", f"{stock.url}/products", {"name": "Mug", "price": 1, "quantity": 100000}, admin)
    http("POST", f"{delivery.url}/couriers", {"name": "Cy", "daily_capacity": 10000}, admin)
    name = f"roll{uuid.uuid4().hex[:8]}"
    http("POST", f"{user.url}/users", {"username": name, "password": "roll-password", "email": f"{name}@example.com",
                                         "first_name": "Ro", "last_name": "Ll", "phone": "+4912345678"})
    _, _, body = http("POST", f"{user.url}/auth/login", {"username": name, "password": "roll-password"})
    token = body["access_token"]
    http("POST", f"{payment.url}/balance/deposit", {"amount": 1000000}, token)

    lock = threading.Lock()
    every = list(old)
    endpoints = list(old)
    failures, answered = [], [0]
    stop = threading.Event()

    def ready(r):
        try:
            with urllib.request.urlopen(f"{r.url}/health/ready", timeout=2) as resp:
                return resp.status == 200
        except Exception:
            return False

    def kube_proxy():
        while not stop.is_set():
            with lock:
                candidates = list(every)
            seen = [r for r in candidates if r.proc.poll() is None and ready(r)]
            with lock:
                endpoints[:] = seen
            time.sleep(0.5)

    def client():
        i = 0
        while not stop.is_set():
            with lock:
                eps = list(endpoints)
            if not eps:
                failures.append("no ready endpoint")
                time.sleep(0.1)
                continue
            r = eps[i % len(eps)]
            i += 1
            try:
                status, _, body = http("POST", f"{r.url}/orders", {"product_id": product["id"], "quantity": 1}, token,
                                       {"Idempotency-Key": uuid.uuid4().hex})
            except Exception as e:  # refused, reset: what a rollout must never cause
                failures.append(f"order-svc[{r.index}]: {e}")
                continue
            if status not in (201, 202):
                failures.append(f"order-svc[{r.index}]: {status} {body}")
            answered[0] += 1
            time.sleep(0.02)

    threads = [threading.Thread(target=kube_proxy), threading.Thread(target=client)]
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        # The new release migrates first: a migration this build does not know, in every database.
        for rs in replicas.values():
            url = next(v for k, v in rs[0].env.items() if k.endswith("_DATABASE_URL"))
            database = urllib.parse.urlparse(url).path.lstrip("/")
            target = urllib.parse.urlparse(postgres_url)._replace(path=f"/{database}").geturl()
            subprocess.run(["psql", target, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                            "INSERT INTO seaql_migrations (version, applied_at) "
                            "VALUES ('m20991231_000001_next_release', 0) ON CONFLICT DO NOTHING"], check=True)
        time.sleep(3)
        for r in [r for rs in replicas.values() for r in rs]:
            if not ready(r):
                fail(f"{r.deployment}[{r.index}] went unready on the next release's schema")
        # The new replicas start; the old ones are told to stop.
        new = []
        for r in old:
            port = free_port()
            env = {k: (str(port) if v == str(r.port) else v) for k, v in r.env.items()}
            fresh = Replica(r.deployment, r.index + len(old), r.command, env, port, r.container)
            fresh.start(bin_dir, log_dir)
            new.append(fresh)
            replicas[r.deployment] = old + new
        for r in new:
            wait_for(r.probe_url("readinessProbe"), 60, f"new {r.deployment}[{r.index}]")
        with lock:
            every.extend(new)
        time.sleep(1.5)
        for r in old:
            r.proc.send_signal(signal.SIGTERM)
        for r in old:
            code = r.proc.wait(timeout=40)
            if code != 0:
                fail(f"old {r.deployment}[{r.index}] exited {code}")
        time.sleep(2)
    finally:
        stop.set()
        for t in threads:
            t.join()
    if failures:
        fail(f"the rollout failed {len(failures)} of {answered[0] + len(failures)} requests: {failures[:3]}")
    replicas[old[0].deployment] = new
    print(f"chart-run: a rollout across a newer schema: {answered[0]} orders, none failed; "
          "old replicas stayed ready, then drained and exited 0")


def run_migrate_job(manifest, bin_dir, service_urls, postgres):
    """The pre-upgrade migrate Job's containers, run to completion as the Job would before the
    services start: each applies its service's migrations and exits 0."""
    jobs = [
        j
        for j in manifest.by_kind.get("Job", [])
        if "pre-upgrade" in j["metadata"].get("annotations", {}).get("helm.sh/hook", "")
    ]
    if len(jobs) != 1:
        fail(f"{len(jobs)} pre-upgrade Jobs rendered, not one migrate Job")
    containers = jobs[0]["spec"]["template"]["spec"]["containers"]
    if len(containers) != 6:
        fail(f"the migrate Job runs {len(containers)} containers, not 6")
    for c in containers:
        env = environment(manifest, c, 0, service_urls, postgres)
        binary = os.path.join(bin_dir, os.path.basename(c["command"][0]))
        done = subprocess.run([binary, *c["command"][1:]], env=env, capture_output=True, timeout=120)
        if done.returncode != 0:
            fail(f"migrate Job container {c['name']} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    print("chart-run: the migrate Job's six containers apply the migrations and exit 0")


def run_backup_cronjob(manifest, postgres_url):
    """The backup CronJob's container, run three times against the local server with its
    rendered script and environment (the volume a directory, the server local): each run is a
    directory of six dumps that pg_restore reads, order-svc's dumped last, and `keep` of them
    stay."""
    jobs = manifest.by_kind.get("CronJob", [])
    if len(jobs) != 1:
        fail(f"{len(jobs)} backup CronJobs rendered, not one")
    spec = jobs[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    (mount,) = container["volumeMounts"]
    target = urllib.parse.urlparse(postgres_url)
    with tempfile.TemporaryDirectory() as volume:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for item in container["env"]:
            if "value" in item:
                env[item["name"]] = str(item["value"]).replace(mount["mountPath"], volume)
        env["PGHOST"] = target.hostname or "127.0.0.1"
        env["PGPORT"] = str(target.port or 5432)
        env["PGUSER"] = target.username or "postgres"
        databases = env["SHOP_DATABASES"].split()
        if len(databases) != 6 or not databases[-1].endswith("_order"):
            fail(f"the CronJob dumps {databases}: six, order-svc's last")
        keep = int(env["SHOP_KEEP"])
        for _ in range(keep + 1):
            done = subprocess.run(container["command"], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                fail(f"the backup CronJob's script failed: {done.stderr[-500:]}")
            time.sleep(1.1)  # its runs are named by the second
        runs = sorted(os.listdir(volume))
        if len(runs) != keep or any(r.endswith(".partial") for r in runs):
            fail(f"after {keep + 1} runs the volume holds {runs}, not the last {keep}")
        for db in databases:
            dump = os.path.join(volume, runs[-1], f"{db}.dump")
            listed = subprocess.run(["pg_restore", "--list", dump], capture_output=True)
            if listed.returncode != 0 or b"TABLE" not in listed.stdout:
                fail(f"{dump} is not a dump pg_restore reads: {listed.stderr[-300:]!r}")
    print(f"chart-run: the backup CronJob dumps the six databases (order-svc's last); {keep} runs kept")


def stop_all(manifest, everyone):
    """SIGTERM: every replica is unready at once, serves on through its shutdown delay, and
    exits 0 inside its pod's grace period, which covers the delay and the drain."""
    grace = {}
    for dep in manifest.by_kind["Deployment"]:
        spec = dep["spec"]["template"]["spec"]
        grace[dep["metadata"]["name"]] = spec.get("terminationGracePeriodSeconds", 30)
    for r in everyone:
        delay = int(r.env.get("SHOP_SHUTDOWN_DELAY_SECS", "0"))
        if grace[r.deployment] < delay + 20:
            fail(f"{r.deployment}: grace {grace[r.deployment]} s < delay {delay} s + 20 s of drain")
    signalled = time.monotonic()
    for r in everyone:
        r.proc.send_signal(signal.SIGTERM)
    for r in everyone:
        delay = int(r.env.get("SHOP_SHUTDOWN_DELAY_SECS", "0"))
        if delay == 0 or time.monotonic() - signalled > delay - 1:
            continue
        ready, _, _ = http("GET", f"{r.url}/health/ready")
        live, _, _ = http("GET", f"{r.url}/health/live")
        if ready != 503 or live != 200:
            fail(f"{r.deployment}[{r.index}] during its shutdown delay: ready {ready}, live {live}")
    for r in everyone:
        left = grace[r.deployment] - (time.monotonic() - signalled)
        code = r.proc.wait(timeout=max(left, 1))
        if code != 0:
            fail(f"{r.deployment}[{r.index}] exited {code} on SIGTERM")
    print(
        "chart-run: on SIGTERM every replica is unready at once, serves on through its delay, "
        f"and exits 0 inside its grace period ({time.monotonic() - signalled:.1f} s)"
    )


def start(rendered, bin_dir, postgres_url):
    """The chart's databases prepared, its migrate Job run, and every replica of every
    Deployment started (all at once: they race for the migrations) and passing its probes.
    Answers the manifest, the replicas by Deployment and the Service URL rewrite."""
    manifest = Manifest(rendered)
    prepare_databases(manifest, postgres_url)
    postgres = re.sub(r"^postgres(ql)?://([^@/]*@)?", "", postgres_url).split("/")[0]
    planned, service_urls = plan(manifest)
    replicas = {}
    volumes_dir = tempfile.mkdtemp(prefix="chart-run-volumes-")
    for dep, i, container, port in planned:
        moved = materialize_secret_volumes(
            manifest, dep, container, os.path.join(volumes_dir, f"{dep}-{i}")
        )
        env = environment(manifest, container, port, service_urls, postgres, moved)
        replica = Replica(dep, i, container["command"], env, port, container)
        replicas.setdefault(dep, []).append(replica)
    log_dir = tempfile.mkdtemp(prefix="chart-run-")
    run_migrate_job(manifest, bin_dir, service_urls, postgres)
    everyone = [r for rs in replicas.values() for r in rs]
    for r in everyone:
        r.start(bin_dir, log_dir)
    return manifest, replicas, service_urls, log_dir


def wait_probes(replicas):
    everyone = [r for rs in replicas.values() for r in rs]
    for r in everyone:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            wait_for(r.probe_url(probe), 120, f"{r.deployment}[{r.index}] {probe}")
    print(f"chart-run: {len(everyone)} replicas of {len(replicas)} Deployments pass their probes")


def show_logs_and_kill(replicas, failed):
    """On a failure, the tail of every replica's log; in any case no replica left running."""
    everyone = [r for rs in replicas.values() for r in rs]
    for r in everyone if failed else []:
        if r.log:
            r.log.flush()
            print(f"--- {r.deployment}[{r.index}] log (tail)", file=sys.stderr)
            with open(r.log.name) as f:
                print("".join(f.readlines()[-15:]), file=sys.stderr)
    for r in everyone:
        if r.proc and r.proc.poll() is None:
            r.proc.kill()


def main():
    rendered, bin_dir, postgres_url = sys.argv[1:4]
    replicas = {}
    failed = True
    try:
        manifest, replicas, service_urls, log_dir = start(rendered, bin_dir, postgres_url)
        wait_probes(replicas)
        everyone = [r for rs in replicas.values() for r in rs]
        check_ingresses(manifest, replicas)
        check_pools(everyone)
        check_credentials(manifest)
        run_helm_test(manifest, bin_dir, service_urls)
        scenario(manifest, replicas)
        rollout(manifest, replicas, bin_dir, log_dir, postgres_url)
        run_backup_cronjob(manifest, postgres_url)
        everyone = [r for rs in replicas.values() for r in rs]
        stop_all(manifest, everyone)
        failed = False
    finally:
        show_logs_and_kill(replicas, failed)


if __name__ == "__main__":
    main()
