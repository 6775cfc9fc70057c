"""Whether the migrate Job's pod can reach PostgreSQL while Helm runs the pre-upgrade hook.

Helm runs an upgrade's hooks before it applies the release's own objects, so the network
policies in force are those of the release being upgraded (OLD, a render of its chart) plus the
new release's hooks applied before the Job (lower weight). Both directions are checked, as a
CNI enforces them: PostgreSQL's ingress must admit the Job's pod, and the Job's egress must
admit PostgreSQL. Pods and policies share one namespace.

usage: netpol_check.py OLD.yaml NEW.yaml [--no-hook-policies] [--expect-blocked]
(--no-hook-policies: as if the new release brought no policy of its own for the hook)
"""

import sys

import yaml

PORT = 5432


def objects(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def hook(obj):
    return (obj["metadata"].get("annotations") or {}).get("helm.sh/hook", "")


def weight(obj):
    return int((obj["metadata"].get("annotations") or {}).get("helm.sh/hook-weight", "0"))


def selects(selector, labels):
    """A LabelSelector against a pod's labels (an empty selector selects every pod)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def peer_admits(peer, labels):
    # A peer with a namespaceSelector names pods of other namespaces too; the shop's own pods
    # are admitted by a podSelector alone (same namespace) or an ipBlock, which no CNI is
    # bound to match against pod addresses: only the first counts here.
    if "namespaceSelector" in peer or "ipBlock" in peer:
        return False
    return selects(peer.get("podSelector"), labels)


def port_admits(ports, port_names):
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        if p.get("port") in (None, PORT) or p.get("port") in port_names:
            return True
    return False


def allowed(policies, direction, me, peer_labels, port_names):
    """Whether `me`'s `direction` (ingress or egress) admits the peer on PostgreSQL's port."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    governing = [
        p
        for p in policies
        if selects(p["spec"].get("podSelector"), me)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not governing:
        return True
    for p in governing:
        for rule in p["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(peer_admits(x, peer_labels) for x in peers)) and port_admits(
                rule.get("ports"), port_names
            ):
                return True
    return False


def pod_template(objs, kind, component):
    for o in objs:
        if o["kind"] == kind and o["metadata"]["name"].endswith(component):
            return o["spec"]["template"]
    sys.exit(f"no {kind} named *{component} in the render")


def main():
    old, new = objects(sys.argv[1]), objects(sys.argv[2])
    expect_blocked = "--expect-blocked" in sys.argv
    job = next(o for o in new if o["kind"] == "Job" and "pre-upgrade" in hook(o))
    in_force = [o for o in old if o["kind"] == "NetworkPolicy" and not hook(o)]
    if "--no-hook-policies" not in sys.argv:
        in_force += [
            o
            for o in new
            if o["kind"] == "NetworkPolicy"
            and "pre-upgrade" in hook(o)
            and weight(o) < weight(job)
        ]
    migrate = job["spec"]["template"]["metadata"]["labels"]
    pg = pod_template(old, "StatefulSet", "postgresql")
    pg_labels = pg["metadata"]["labels"]
    pg_ports = {
        p.get("name")
        for c in pg["spec"]["containers"]
        for p in c.get("ports") or []
        if p.get("containerPort") == PORT
    }
    ingress = allowed(in_force, "Ingress", pg_labels, migrate, pg_ports)
    egress = allowed(in_force, "Egress", migrate, pg_labels, pg_ports)
    reached = ingress and egress
    print(
        f"{len(in_force)} policies in force when the Job runs: PostgreSQL admits it: {ingress}; "
        f"it may reach PostgreSQL: {egress}"
    )
    if reached == expect_blocked:
        sys.exit("the check did not find what it expected")


if __name__ == "__main__":
    main()
