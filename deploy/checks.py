#!/usr/bin/env python3
"""The structural checks behind deploy/check.sh, one subcommand each.

Each subcommand prints nothing and exits 0 when the files are right, or prints every problem it
found and exits 1. check.sh turns that into its one line per check. Needs PyYAML (check.sh
installs it) and runs from the repository root.

The operations contract (metric names, ports, health paths) is written down once, here, so that
a renamed metric or a typo in an alert, a panel or a manifest fails the check instead of
producing an empty graph or an alert that can never fire.
"""

import json
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import yaml

DEPLOY = Path("deploy")

# === the contract ===

METRICS = {
    "idbridge_requests_total",
    "idbridge_request_duration_seconds",
    "idbridge_upstream_requests_total",
    "idbridge_upstream_duration_seconds",
    "idbridge_cache_lookups_total",
    "idbridge_sessions",
    "idbridge_logins_total",
    "idbridge_tokens_issued_total",
    "idbridge_tokens_verified_total",
    "idbridge_backend_up",
    "idbridge_build_info",
    "idbridge_tls_certificate_expiry_timestamp_seconds",
    "idbridge_tls_handshake_failures_total",
    "idbridge_throttled_total",
    "idbridge_client_connections",
    "idbridge_client_connections_limit",
    "idbridge_client_connections_closed_total",
    "idbridge_store_up",
    "idbridge_store_errors_total",
    "idbridge_store_pending_revocations",
    "idbridge_revocations_received_total",
}
HISTOGRAMS = {"idbridge_request_duration_seconds", "idbridge_upstream_duration_seconds"}
MAIN_PORT, ADMIN_PORT, REDIS_PORT = 8080, 9090, 6379


def metric_names(expr):
    """Every idbridge_* name an expression refers to, histogram suffixes folded to the family."""
    names = set()
    for name in re.findall(r"\bidbridge_[a-z_]+", expr):
        for suffix in ("_bucket", "_sum", "_count"):
            base = name.removesuffix(suffix)
            if base != name and base in HISTOGRAMS:
                name = base
        names.add(name)
    return names


def unknown_metrics(where, expr):
    return [f"{where}: unknown metric {n} (not in the operations contract)"
            for n in sorted(metric_names(expr) - METRICS)]


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return list(yaml.safe_load_all(f))


# === yaml ===

def check_yaml():
    problems = []
    for path in sorted(list(DEPLOY.rglob("*.yml")) + list(DEPLOY.rglob("*.yaml"))):
        try:
            docs = load_yaml(path)
            if not any(d is not None for d in docs):
                problems.append(f"{path}: empty")
        except yaml.YAMLError as e:
            problems.append(f"{path}: {e}")
    return problems


# === dashboard ===

def dashboard_panels(dash):
    for panel in dash.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def check_dashboard(path, rules_out):
    """Structure and metric names; writes every expression as a recording rule to rules_out, so
    promtool can parse the PromQL (Grafana's variables replaced by plausible values)."""
    problems = []
    dash = json.loads(Path(path).read_text(encoding="utf-8"))
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no `datasource` template variable of type datasource/prometheus")
    ids, rules, used = set(), [], set()
    for panel in dashboard_panels(dash):
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            problems.append(f"panel {title!r}: duplicate id {panel.get('id')}")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if grid.get("x", 0) + grid.get("w", 0) > 24:
            problems.append(f"panel {title!r}: wider than the 24-column grid")
        if panel.get("type") == "row":
            continue
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"panel {title!r}: no queries")
        for t in [panel] + targets:
            uid = (t.get("datasource") or {}).get("uid")
            if uid != "${datasource}":
                problems.append(f"panel {title!r}: datasource uid {uid!r}, not ${{datasource}}")
        for t in targets:
            expr = t.get("expr", "")
            problems += unknown_metrics(f"panel {title!r}", expr)
            used |= metric_names(expr)
            promql = (expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
                      .replace("$instance", ".*"))
            rules.append({"record": f"dashboard:panel{panel.get('id')}:{t.get('refId', 'A')}",
                          "expr": promql})
    problems += [f"no panel shows {m}" for m in sorted(METRICS - used)]
    with open(rules_out, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
    return problems


# === alerts ===

def check_alerts(path):
    problems = []
    for group in load_yaml(path)[0]["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            problems += unknown_metrics(f"rule {name}", rule["expr"])
            if "alert" in rule:
                if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                    problems.append(f"alert {name}: no severity label")
                for key in ("summary", "description"):
                    if not rule.get("annotations", {}).get(key):
                        problems.append(f"alert {name}: no {key} annotation")
    return problems


# === compose ===

def compose_env(service):
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def check_compose(path):
    problems = []
    base = Path(path).parent
    doc = load_yaml(path)[0]
    services = doc.get("services", {})
    for name in ("gateway-1", "gateway-2", "simulators", "redis", "balancer", "prometheus",
                 "grafana"):
        if name not in services:
            problems.append(f"service {name} missing")
    host_ports = []
    for name, svc in services.items():
        build = svc.get("build")
        if build:
            ctx = (base / build["context"]).resolve()
            if not (ctx / build["dockerfile"]).is_file():
                problems.append(f"{name}: build file {build['dockerfile']} not in context {ctx}")
            if not (ctx / "Cargo.toml").is_file():
                problems.append(f"{name}: build context {ctx} is not the workspace root")
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0]
            if src.startswith("."):
                if not (base / src).exists():
                    problems.append(f"{name}: bind mount source {src} does not exist")
        for port in svc.get("ports", []):
            parts = str(port).split(":")
            if len(parts) != 3 or parts[0] != "127.0.0.1":
                problems.append(f"{name}: port {port} is not bound to 127.0.0.1")
            host_ports.append(parts[-2])
        if "healthcheck" in svc and not svc["healthcheck"].get("test"):
            problems.append(f"{name}: health check without a test")
    dupes = {p for p in host_ports if host_ports.count(p) > 1}
    if dupes:
        problems.append(f"host ports published twice: {sorted(dupes)}")
    for name in ("gateway-1", "gateway-2"):
        env = compose_env(services.get(name, {}))
        for key in ("IDBRIDGE__BACKENDS__ENOS__URL", "IDBRIDGE__BACKENDS__NETID__URL"):
            if "//simulators:" not in env.get(key, ""):
                problems.append(f"{name}: {key} does not point at the simulators service")
        if "IDBRIDGE__ADMIN__TOKEN" in env:
            problems.append(f"{name}: the admin token must come from the env file, not compose.yaml")
        problems += check_compose_replica(name, services.get(name, {}), env)
    redis = services.get("redis", {})
    if redis.get("ports"):
        problems.append("redis: publishes a port; only the gateways reach it, on their network")
    if not (redis.get("healthcheck") or {}).get("test"):
        problems.append("redis: no health check")
    problems += check_balancer(base, services.get("balancer", {}))
    sim_cmd = services.get("simulators", {}).get("command", [])
    if sim_cmd != ["sim", "--enos", "0.0.0.0:18081", "--netid", "0.0.0.0:18082"]:
        problems.append(f"simulators: command {sim_cmd} differs from the contract's")
    prom = load_yaml(base / "prometheus" / "prometheus.yml")[0]
    targets = [t for job in prom["scrape_configs"] for sc in job.get("static_configs", [])
               for t in sc["targets"]]
    for name in ("gateway-1", "gateway-2"):
        if f"{name}:{ADMIN_PORT}" not in targets:
            problems.append(f"prometheus.yml does not scrape {name}:{ADMIN_PORT}")
    return problems


def check_compose_replica(name, svc, env):
    """What makes the compose replicas one gateway: the same Redis, the same signing keys, and
    a start that does not wait for Redis (a replica without it must still start, degraded)."""
    problems = []
    if env.get("IDBRIDGE__STORE__REDIS_URL") != f"redis://redis:{REDIS_PORT}":
        problems.append(f"{name}: IDBRIDGE__STORE__REDIS_URL is not redis://redis:{REDIS_PORT}")
    key_dir = env.get("IDBRIDGE__TOKENS__KEY_DIR")
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in svc.get("volumes", [])}
    if not key_dir or mounts.get(key_dir) != "./keys":
        problems.append(f"{name}: IDBRIDGE__TOKENS__KEY_DIR is not the mounted ./keys directory")
    redis_dep = (svc.get("depends_on") or {}).get("redis")
    if redis_dep is None:
        problems.append(f"{name}: does not depend on redis (start order)")
    elif isinstance(redis_dep, dict) and redis_dep.get("condition") != "service_started":
        problems.append(f"{name}: waits for redis to be {redis_dep.get('condition')}; a gateway "
                        "must start without Redis")
    return problems


def check_balancer(base, svc):
    """The balancer publishes the main port and spreads over both replicas' main port."""
    problems = []
    if f"127.0.0.1:{MAIN_PORT}:{MAIN_PORT}" not in [str(p) for p in svc.get("ports", [])]:
        problems.append(f"balancer: does not publish 127.0.0.1:{MAIN_PORT}")
    confs = [str(v).split(":")[0] for v in svc.get("volumes", [])
             if str(v).split(":")[1] == "/etc/nginx/nginx.conf"]
    if not confs:
        return problems + ["balancer: no nginx.conf mounted"]
    conf = (base / confs[0]).read_text(encoding="utf-8") if (base / confs[0]).is_file() else ""
    servers = re.findall(r"^\s*server\s+([\w.-]+:\d+)", conf, re.M)
    if sorted(servers) != [f"gateway-1:{MAIN_PORT}", f"gateway-2:{MAIN_PORT}"]:
        problems.append(f"balancer: upstream servers {servers}, not both gateways' main port")
    if re.search(r"^\s*(ip_hash|hash|sticky)\b", conf, re.M):
        problems.append("balancer: sticky balancing; the replicas share state, round robin it is")
    return problems


def gateway_env(path):
    """The environment compose gives gateway-1, as NAME=value lines (for check-config)."""
    env = compose_env(load_yaml(path)[0]["services"]["gateway-1"])
    for k, v in sorted(env.items()):
        print(f"{k}={v}")
    return []


# === Dockerfile ===

def check_dockerfile(path):
    problems = []
    text = Path(path).read_text(encoding="utf-8")
    for line in text.splitlines():
        m = re.match(r"COPY\s+(?!--from)(.*)", line)
        if m:
            for src in m.group(1).split()[:-1]:
                if not src.startswith("--") and not Path(src).exists():
                    problems.append(f"COPY source {src} does not exist in the build context")
    for needle in ("EXPOSE 8080 9090", "USER 10001", 'ENTRYPOINT ["idbridge"]', 'CMD ["run"]',
                   "IDBRIDGE__SERVER__LISTEN=0.0.0.0:8080",
                   "IDBRIDGE__SERVER__ADMIN_LISTEN=0.0.0.0:9090", "HEALTHCHECK"):
        if needle not in text:
            problems.append(f"missing: {needle}")
    if not Path(str(path) + ".dockerignore").is_file():
        problems.append(f"{path}.dockerignore missing: the context would include target/")
    return problems


# === health check commands ===

class _Admin(BaseHTTPRequestHandler):
    """A stand-in admin listener: /healthz 200, /readyz 503 or 200 as the test sets."""

    protocol_version = "HTTP/1.1"
    ready = False

    def do_GET(self):
        ok = self.path == "/healthz" or (self.path == "/readyz" and _Admin.ready)
        body = b"ok\n" if ok else b"not ready\n"
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _probe(cmd, port):
    cmd = cmd.replace("/9090", f"/{port}")
    return subprocess.run(["bash", "-c", cmd], timeout=10, capture_output=True).returncode


def check_healthchecks(dockerfile, compose):
    """Runs the image's and compose's probe commands against a stand-in admin listener on an
    ephemeral loopback port: they must pass on 200 and fail on 503 or a closed port."""
    problems = []
    text = Path(dockerfile).read_text(encoding="utf-8")
    m = re.search(r"^\s*CMD (\[\"bash\".*\])\s*$", text, re.M)
    image_cmd = json.loads(m.group(1))[2] if m else None
    if image_cmd is None:
        return ["no exec-form bash HEALTHCHECK in the Dockerfile"]
    test = load_yaml(compose)[0]["services"]["gateway-1"]["healthcheck"]["test"]
    compose_cmd = test[3].replace("$$", "$")  # compose's escape for a literal $

    server = HTTPServer(("127.0.0.1", 0), _Admin)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        if "/healthz" not in image_cmd or _probe(image_cmd, port) != 0:
            problems.append("image HEALTHCHECK does not pass on /healthz 200")
        _Admin.ready = False
        if "/readyz" not in compose_cmd or _probe(compose_cmd, port) == 0:
            problems.append("compose gateway health check passes on /readyz 503")
        _Admin.ready = True
        if _probe(compose_cmd, port) != 0:
            problems.append("compose gateway health check does not pass on /readyz 200")
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    if _probe(image_cmd, closed) == 0:
        problems.append("image HEALTHCHECK passes with nothing listening")
    return problems


# === Kubernetes ===

def check_kubernetes(rendered):
    """Assertions on `kubectl kustomize` output (a file of YAML documents)."""
    problems = []
    docs = [d for d in load_yaml(rendered) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    for kind in ("Namespace", "ConfigMap", "Secret", "Deployment", "Service", "ServiceMonitor",
                 "PodDisruptionBudget"):
        if kind not in by_kind:
            problems.append(f"no {kind}")
    if problems:
        return problems
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    if "idbridge" not in deployments or "idbridge-redis" not in deployments:
        return [f"want Deployments idbridge and idbridge-redis, got {sorted(deployments)}"]
    dep = deployments["idbridge"]
    spec = dep["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    if dep["spec"].get("replicas") != 2:
        problems.append("Deployment: replicas is not 2")
    psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
    if not psc.get("runAsNonRoot") or psc.get("runAsUser") != 10001:
        problems.append("pod securityContext: not runAsNonRoot with uid 10001")
    if not csc.get("readOnlyRootFilesystem") or csc.get("allowPrivilegeEscalation") is not False:
        problems.append("container securityContext: root filesystem writable or escalation allowed")
    if "ALL" not in csc.get("capabilities", {}).get("drop", []):
        problems.append("container securityContext: capabilities not dropped")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if ports != {"http": MAIN_PORT, "admin": ADMIN_PORT}:
        problems.append(f"container ports {ports}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        got = c.get(probe, {}).get("httpGet", {})
        if got.get("path") != path or got.get("port") not in ("admin", ADMIN_PORT):
            problems.append(f"{probe}: not {path} on the admin port")
    if not c.get("resources", {}).get("requests") or not c.get("resources", {}).get("limits"):
        problems.append("container resources: requests or limits missing")
    names = {d["kind"] + "/" + d["metadata"]["name"] for d in docs}
    env = {e["name"]: e for e in c.get("env", [])}
    ref = env.get("IDBRIDGE__ADMIN__TOKEN", {}).get("valueFrom", {}).get("secretKeyRef", {})
    if f"Secret/{ref.get('name')}" not in names:
        problems.append("IDBRIDGE__ADMIN__TOKEN does not come from a rendered Secret")
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    keys = volumes.get(mounts.get("/etc/idbridge/keys", {}).get("name"), {})
    if f"Secret/{keys.get('secret', {}).get('secretName')}" not in names:
        problems.append("/etc/idbridge/keys is not a rendered Secret")
    conf = volumes.get(mounts.get("/etc/idbridge/idbridge.toml", {}).get("name"), {})
    if f"ConfigMap/{conf.get('configMap', {}).get('name')}" not in names:
        problems.append("/etc/idbridge/idbridge.toml is not a rendered ConfigMap")
    if c.get("args", [])[:1] != ["run"] or "/etc/idbridge/idbridge.toml" not in c.get("args", []):
        problems.append(f"args {c.get('args')} do not run the mounted config")
    services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
    problems += check_kubernetes_redis(deployments["idbridge-redis"],
                                       services.pop("idbridge-redis", None),
                                       by_kind.get("NetworkPolicy", []), dep, env)
    sel = dep["spec"]["selector"]["matchLabels"]
    port_sets = []
    for svc in services.values():
        if any(svc["spec"]["selector"].get(k) != v for k, v in sel.items()):
            problems.append(f"Service {svc['metadata']['name']}: selects no gateway pod")
        port_sets.append({p["port"] for p in svc["spec"]["ports"]})
    if {MAIN_PORT} not in port_sets or {ADMIN_PORT} not in port_sets:
        problems.append("want one Service for the main port and a separate one for the admin port")
    sm = by_kind["ServiceMonitor"][0]["spec"]
    admin_svcs = [s for s in services.values() if {p["port"] for p in s["spec"]["ports"]} == {ADMIN_PORT}]
    if not admin_svcs or any(admin_svcs[0]["metadata"]["labels"].get(k) != v
                             for k, v in sm["selector"]["matchLabels"].items()):
        problems.append("ServiceMonitor does not select the admin Service")
    if sm["endpoints"][0].get("path") != "/metrics" or sm["endpoints"][0].get("port") != "admin":
        problems.append("ServiceMonitor does not scrape /metrics on the admin port")
    pdb = by_kind["PodDisruptionBudget"][0]["spec"]
    if pdb["selector"]["matchLabels"] != sel:
        problems.append("PodDisruptionBudget does not select the gateway pods")
    return problems


def check_kubernetes_redis(dep, svc, policies, gateway, gateway_env):
    """The shared store: one hardened pod, a Service the gateways' URL names, and a policy that
    lets only the gateway pods in. The gateway's own readiness must not depend on it."""
    problems = []
    spec = dep["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    if dep["spec"].get("replicas") != 1:
        problems.append("idbridge-redis: not exactly one replica (two would be two stores)")
    psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
    seccomp = (psc.get("seccompProfile") or {}).get("type")
    if not psc.get("runAsNonRoot") or seccomp != "RuntimeDefault":
        problems.append("idbridge-redis: pod not runAsNonRoot with RuntimeDefault seccomp")
    if not csc.get("readOnlyRootFilesystem") or csc.get("allowPrivilegeEscalation") is not False \
            or "ALL" not in csc.get("capabilities", {}).get("drop", []):
        problems.append("idbridge-redis: writable root, escalation allowed or capabilities kept")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    if "emptyDir" not in volumes.get(mounts.get("/data"), {}):
        problems.append("idbridge-redis: /data is not an emptyDir")
    args = c.get("args", [])
    save = args[args.index("--save") + 1:][:1] if "--save" in args else None
    if save != [""] or "--appendonly" not in args:
        problems.append("idbridge-redis: persistence not turned off (--save \"\" --appendonly no)")
    if not c.get("resources", {}).get("limits", {}).get("memory"):
        problems.append("idbridge-redis: no memory limit")
    if svc is None:
        return problems + ["no Service idbridge-redis"]
    labels = dep["spec"]["selector"]["matchLabels"]
    if any(svc["spec"]["selector"].get(k) != v for k, v in labels.items()):
        problems.append("Service idbridge-redis: does not select the Redis pod")
    if [p["port"] for p in svc["spec"]["ports"]] != [REDIS_PORT]:
        problems.append(f"Service idbridge-redis: not port {REDIS_PORT}")
    url = (gateway_env.get("IDBRIDGE__STORE__REDIS_URL") or {}).get("value")
    if url != f"redis://idbridge-redis:{REDIS_PORT}":
        problems.append(f"gateway: IDBRIDGE__STORE__REDIS_URL {url!r} is not the idbridge-redis "
                        "Service")
    gateway_labels = gateway["spec"]["selector"]["matchLabels"]
    allowed = [peer.get("podSelector", {}).get("matchLabels")
               for pol in policies
               if pol["spec"]["podSelector"].get("matchLabels") == labels
               for rule in pol["spec"].get("ingress", []) for peer in rule.get("from", [])]
    if not allowed or any(a != gateway_labels for a in allowed):
        problems.append("NetworkPolicy: Redis is not limited to the gateway pods")
    return problems


def check_overlay(rendered):
    """The README's overlay recipe: its image, config, token and keys must replace the base's."""
    problems = []
    docs = [d for d in load_yaml(rendered) if d]
    secrets = [d for d in docs if d["kind"] == "Secret"]
    if not any("admin-token" in (s.get("data") or {}) for s in secrets):
        problems.append("overlay: the admin token did not reach the Secret")
    if not any("signing.pem" in (s.get("data") or {}) for s in secrets):
        problems.append("overlay: the signing key did not reach the Secret")
    configs = [d for d in docs if d["kind"] == "ConfigMap"]
    if not any("enos.overlay.test" in (c.get("data") or {}).get("idbridge.toml", "") for c in configs):
        problems.append("overlay: its idbridge.toml did not replace the base's")
    (dep,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "idbridge"]
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    if not image.startswith("registry.example.com/"):
        problems.append(f"overlay: image not replaced ({image})")
    return problems


def check_overlay_redis(rendered):
    """The README's "A Redis of your own": the URL from a Secret, no in-cluster Redis left."""
    problems = []
    docs = [d for d in load_yaml(rendered) if d]
    left = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
            if d["metadata"]["name"] == "idbridge-redis"]
    if left:
        problems.append(f"overlay: in-cluster Redis objects left: {left}")
    (dep,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "idbridge"]
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    url = env.get("IDBRIDGE__STORE__REDIS_URL", {})
    ref = url.get("valueFrom", {}).get("secretKeyRef", {})
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    if "value" in url or ref.get("key") not in (secrets.get(ref.get("name")) or {}).get("data", {}):
        problems.append(f"overlay: IDBRIDGE__STORE__REDIS_URL does not come from a rendered Secret: {url}")
    return problems


# === main ===

def main(argv):
    command, args = argv[1], argv[2:]
    funcs = {
        "yaml": check_yaml,
        "dashboard": check_dashboard,
        "alerts": check_alerts,
        "compose": check_compose,
        "gateway-env": gateway_env,
        "dockerfile": check_dockerfile,
        "healthchecks": check_healthchecks,
        "kubernetes": check_kubernetes,
        "overlay": check_overlay,
        "overlay-redis": check_overlay_redis,
    }
    problems = funcs[command](*args)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    sys.exit(main(sys.argv))
