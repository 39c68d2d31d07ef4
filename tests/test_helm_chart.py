"""The Helm chart (deploy/helm/leg-pain-cds), rendered offline and validated against the Kubernetes schemas.

Rendered by Helm's own engine (the Go SDK that `helm template` runs, bundled in the `helm-python-sdk` wheel: no
cluster, no helm binary, no network), then every manifest is checked against the Kubernetes JSON schemas that the
`kubernetes-validate` package ships, in strict mode (an unknown or misspelt field is an error), for the oldest
Kubernetes the chart supports and the newest the schemas know. Then the properties that matter for a clinical
service on a shared cluster are asserted on the rendered objects, for the defaults and for the production example
(PostgreSQL, autoscaling, two FHIR servers): non-root, read-only root filesystem, resources, probe paths, the
migration step, the NetworkPolicy's egress, no service account token. Values that could not work are refused
(values.schema.json and the chart's own checks), every value is in the README's table, and the rendered pod's
commands and environment are run here for real (the migration, then the service, whose probe paths answer).
"""
from __future__ import annotations

import base64
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import yaml

from cds_service import config
from cds_service.runtime import metrics
from cds_service.runtime.serve import free_port, serve_subprocess

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "leg-pain-cds"
PRODUCTION = CHART / "values-production.example.yaml"
NAMESPACE = "clinical"
RELEASE = "cds"
# Chart.yaml's kubeVersion floor, and the newest Kubernetes whose schemas kubernetes-validate bundles.
KUBE_VERSIONS = ("1.25.0",)
TRUST_FILE = json.loads((CHART.parents[1] / "trusted-clients.example.json").read_text())

try:
    import helm_python as helm
except ImportError as err:  # pragma: no cover - the wheel exists for Linux x86_64 only (pyproject.toml)
    if platform.system() == "Linux" and platform.machine() == "x86_64":
        raise  # there it is a test dependency: its absence is a broken install, not a reason to skip
    pytest.skip(f"helm-python-sdk (Helm's renderer) has no wheel for {platform.system()} {platform.machine()}: "
                f"{err}", allow_module_level=True)
import kubernetes_validate


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """`helm template` of the chart with `values`: every rendered object."""
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for name, text in sorted(manifests.items()):
        if name.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def refusal(values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmError) as raised:
        render(values)
    return str(raised.value)


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = [o["kind"] for o in objects]
    assert len(kinds) == len(set(kinds)), kinds  # one of each
    return {o["kind"]: o for o in objects}


DEFAULTS: dict[str, Any] = {"trustedClients": {"json": TRUST_FILE}}  # the one value the defaults lack (jwt auth)


@pytest.fixture(scope="module")
def default_objects() -> dict[str, dict[str, Any]]:
    return by_kind(render(DEFAULTS))


@pytest.fixture(scope="module")
def production_values() -> dict[str, Any]:
    return yaml.safe_load(PRODUCTION.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def production_objects(production_values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return by_kind(render(production_values))


def containers(objects: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    yield from pod.get("initContainers", [])
    yield from pod["containers"]


def env_of(container: dict[str, Any], objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The container's environment: the ConfigMap's keys (envFrom) and its own env entries."""
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == objects["ConfigMap"]["metadata"]["name"]
        env.update(objects["ConfigMap"]["data"])
    env.update({e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])})
    return env


# ------------------------------------------------------------------------------------------ schemas


@pytest.mark.parametrize("case", ["defaults", "production", "inline secrets"])
@pytest.mark.parametrize("kube", [*KUBE_VERSIONS, "latest"])
def test_every_rendered_object_is_valid_for_kubernetes(case: str, kube: str,
                                                       production_values: dict[str, Any]) -> None:
    values = {"defaults": DEFAULTS, "production": production_values,
              "inline secrets": {**production_values, "database": {
                  "url": "postgresql+psycopg://cds:pw@db.example.org/cds", "cidrs": ["10.0.0.5/32"]},
                  "trustedClients": {"json": json.dumps(TRUST_FILE)}}}[case]  # text, as --set-file gives it
    version = kubernetes_validate.latest_version() + ".0" if kube == "latest" else kube
    objects = render(values)
    assert objects
    for obj in objects:
        # Raises ValidationError naming the field (strict: unknown fields are errors too).
        kubernetes_validate.validate(obj, version, strict=True)


def test_helm_lint_finds_nothing_wrong(production_values: dict[str, Any]) -> None:
    for values in (DEFAULTS, production_values):
        report = helm.lint(str(CHART), values, strict=True)
        assert report["errors"] == [], report
        # severity 1 is "info" (Chart.yaml has no icon); warnings (2) and errors (3) are not allowed
        assert [m for m in report["messages"] if m["severity"] >= 2] == [], report


# ------------------------------------------------------------------------------------------ the pods


@pytest.mark.parametrize("case", ["default_objects", "production_objects"])
def test_pods_run_as_non_root_on_a_read_only_root_filesystem(case: str, request: pytest.FixtureRequest) -> None:
    objects = request.getfixturevalue(case)
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    assert objects["ServiceAccount"]["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == objects["ServiceAccount"]["metadata"]["name"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for container in containers(objects):
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        # The one writable place on the read-only root besides /data: /tmp, an emptyDir. It holds gunicorn's worker
        # heartbeat files and the Prometheus multiprocess directory, which `serve` creates there afresh at each
        # start (runtime/metrics.py) as long as neither TMPDIR nor PROMETHEUS_MULTIPROC_DIR points elsewhere.
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
        assert "emptyDir" in mounts["/tmp"]
        env = env_of(container, objects)
        assert "TMPDIR" not in env and metrics.MULTIPROC_ENV not in env
        # Requests and limits on every container, init container included.
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, container["name"]


@pytest.mark.parametrize("case", ["default_objects", "production_objects"])
def test_probes_and_the_migration_step(case: str, request: pytest.FixtureRequest) -> None:
    objects = request.getfixturevalue(case)
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    assert main["command"][:2] == ["leg-pain-cds", "serve"]
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert main["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = main["ports"][0]
    assert main["readinessProbe"]["httpGet"]["port"] == port["name"] and port["containerPort"] == 8080
    # The schema is migrated before the service of this version starts: an init container with the same image,
    # environment and volumes.
    (init,) = pod["initContainers"]
    assert init["command"] == ["leg-pain-cds", "db", "upgrade"]
    assert init["image"] == main["image"]
    assert env_of(init, objects) == env_of(main, objects)
    assert init["volumeMounts"] == main["volumeMounts"]
    # Rolling update: a new pod is ready before an old one goes; an old one keeps serving while it is taken out
    # of the endpoints (preStop), then drains on SIGTERM within the grace period.
    assert objects["Deployment"]["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    sleep = int(main["lifecycle"]["preStop"]["exec"]["command"][1])
    assert sleep + 8 < pod["terminationGracePeriodSeconds"]  # 8 s: the service's graceful timeout (cli.py)
    # The Service sends traffic to exactly these pods, on the named port.
    service = objects["Service"]["spec"]
    assert service["selector"] == objects["Deployment"]["spec"]["selector"]["matchLabels"]
    assert service["ports"][0]["targetPort"] == port["name"]


def test_configmap_holds_only_settings_the_service_knows(default_objects: dict[str, Any],
                                                         production_objects: dict[str, Any]) -> None:
    known = {s.env for s in config.SETTINGS}
    for objects in (default_objects, production_objects):
        data = objects["ConfigMap"]["data"]
        assert set(data) <= known, set(data) - known
        assert all(isinstance(v, str) for v in data.values())
        # Every value passes the service's own start-up checks (JSON-decoded first, as the app reads CDS_*).
        conf = {k.removeprefix("CDS_"): _decoded(v) for k, v in data.items()}
        config.validate(conf)
        assert conf["AUTH"] == "jwt"


def _decoded(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def test_defaults_run_one_replica_on_sqlite_in_the_pod(default_objects: dict[str, Any]) -> None:
    deployment = default_objects["Deployment"]
    assert deployment["spec"]["replicas"] == 1
    assert "HorizontalPodAutoscaler" not in default_objects and "PodDisruptionBudget" not in default_objects
    assert default_objects["ConfigMap"]["data"]["CDS_DATABASE_URL"] == "sqlite:////data/leg-pain-cds.sqlite3"
    pod = deployment["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert "emptyDir" in {v["name"]: v for v in pod["volumes"]}[mounts["/data"]]
    # The trusted clients file comes from the chart's Secret, mounted read-only where CDS_TRUSTED_CLIENTS says.
    secret = default_objects["Secret"]
    assert json.loads(base64.b64decode(secret["data"]["trusted-clients.json"])) == TRUST_FILE
    path = Path(default_objects["ConfigMap"]["data"]["CDS_TRUSTED_CLIENTS"])
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == str(path.parent))
    assert mount["readOnly"] is True
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert volume["secret"]["items"] == [{"key": "trusted-clients.json", "path": path.name}]


def test_default_network_policy_lets_out_dns_only(default_objects: dict[str, Any]) -> None:
    policy = default_objects["NetworkPolicy"]["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["podSelector"]["matchLabels"] == default_objects["Deployment"]["spec"]["selector"]["matchLabels"]
    (dns,) = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53} and "ipBlock" not in dns["to"][0]
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert [p["port"] for p in policy["ingress"][0]["ports"]] == ["http"]


# ------------------------------------------------------------------------------------------ production


def test_production_uses_postgres_from_a_secret_with_autoscaling(production_objects: dict[str, Any],
                                                                 production_values: dict[str, Any]) -> None:
    deployment = production_objects["Deployment"]
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    hpa = production_objects["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": deployment["metadata"]["name"]}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    pdb = production_objects["PodDisruptionBudget"]["spec"]
    assert pdb["minAvailable"] == 1 and pdb["minAvailable"] < hpa["minReplicas"]
    assert pdb["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert "CDS_DATABASE_URL" not in production_objects["ConfigMap"]["data"]
    for container in containers(production_objects):
        url = env_of(container, production_objects)["CDS_DATABASE_URL"]
        assert url == {"secretKeyRef": {"name": "leg-pain-cds-database", "key": "url"}}
    # Both secrets exist already (named in values): the chart creates none, nor a volume for SQLite.
    assert "Secret" not in production_objects
    pod = deployment["spec"]["template"]["spec"]
    assert "data" not in {v["name"] for v in pod["volumes"]}
    # Only the FHIR server marked anyCaller joins CDS_ALLOWED_FHIR_SERVERS; the other is a trusted client's own.
    assert production_objects["ConfigMap"]["data"]["CDS_ALLOWED_FHIR_SERVERS"] == \
        "https://lab-fhir.hospital.example.org/fhir"
    assert production_objects["ConfigMap"]["data"]["CDS_PUBLIC_BASE_URL"] == production_values["publicBaseUrl"]
    # /metrics is on, behind the bearer token from the operator's Secret.
    assert production_objects["ConfigMap"]["data"]["CDS_METRICS"] == "true"
    (main,) = pod["containers"]
    assert env_of(main, production_objects)["CDS_METRICS_TOKEN"] == {
        "secretKeyRef": {"name": "leg-pain-cds-metrics", "key": "token"}}


def test_production_egress_is_dns_the_database_and_the_configured_servers(
        production_objects: dict[str, Any], production_values: dict[str, Any]) -> None:
    egress = production_objects["NetworkPolicy"]["spec"]["egress"]
    for rule in egress:  # a rule without "to" or "ports" would allow every destination or port
        assert rule["to"] and rule["ports"], rule
    allowed = {(peer["ipBlock"]["cidr"], port["port"]) for rule in egress for peer in rule["to"] if "ipBlock" in peer
               for port in rule["ports"]}
    assert all("except" not in peer.get("ipBlock", {}) for rule in egress for peer in rule["to"])
    expected = {(cidr, 5432) for cidr in production_values["database"]["cidrs"]}
    for server in [*production_values["fhirServers"], *production_values["jwksEndpoints"]]:
        expected |= {(cidr, port) for cidr in server["cidrs"] for port in server.get("ports", [443])}
    assert allowed == expected
    # Everything else is selected pods only: the cluster DNS on port 53.
    selected = [(peer, rule["ports"]) for rule in egress for peer in rule["to"] if "ipBlock" not in peer]
    assert [peer["podSelector"]["matchLabels"] for peer, _ in selected] == [{"k8s-app": "kube-dns"}]
    assert {p["port"] for p in selected[0][1]} == {53}
    ingress = production_objects["NetworkPolicy"]["spec"]["ingress"]
    assert ingress[0]["from"] == production_values["networkPolicy"]["ingressFrom"]


def test_inline_database_url_goes_to_the_charts_secret(production_values: dict[str, Any]) -> None:
    url = "postgresql+psycopg://cds:s3cret@db.example.org:5432/cds"
    token = "0123456789abcdef0123456789abcdef"
    objects = by_kind(render({**production_values, "database": {"url": url, "cidrs": ["10.0.0.5/32"]},
                              "metrics": {"token": token}}))
    secret = objects["Secret"]
    assert base64.b64decode(secret["data"]["database-url"]).decode() == url
    assert base64.b64decode(secret["data"]["metrics-token"]).decode() == token
    for where in (objects["ConfigMap"], objects["Deployment"]):
        assert url not in json.dumps(where) and token not in json.dumps(where)
    (main,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = env_of(main, objects)
    assert env["CDS_DATABASE_URL"] == {"secretKeyRef": {"name": secret["metadata"]["name"], "key": "database-url"}}
    assert env["CDS_METRICS_TOKEN"] == {"secretKeyRef": {"name": secret["metadata"]["name"], "key": "metrics-token"}}
    # A changed secret rolls the pods: its checksum is in the pod template.
    other = by_kind(render({**production_values, "database": {"url": url + "2", "cidrs": ["10.0.0.5/32"]}}))
    annotations = [o["Deployment"]["spec"]["template"]["metadata"]["annotations"] for o in (objects, other)]
    assert annotations[0]["checksum/secret"] != annotations[1]["checksum/secret"]


# ------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize("values, message", [
    ({}, "trustedClients.json"),
    ({**DEFAULTS, "replicaCount": 2}, "needs PostgreSQL"),
    ({**DEFAULTS, "autoscaling": {"enabled": True}}, "needs PostgreSQL"),
    ({**DEFAULTS, "settings": {"CDS_DATABASE_URL": "sqlite:////x"}}, "settings.CDS_DATABASE_URL"),
    ({**DEFAULTS, "settings": {"CDS_METRICS_TOKEN": "x" * 20}}, "settings.CDS_METRICS_TOKEN"),
    ({**DEFAULTS, "database": {"url": "postgresql+psycopg://db/cds"}}, "database.cidrs or database.peers"),
    # values.schema.json: what is misspelt, misplaced or malformed is refused, not silently ignored
    ({**DEFAULTS, "settings": {"DATABASE_URL": "x"}}, "'DATABASE_URL' does not match pattern '^CDS_"),
    ({**DEFAULTS, "fhirServers": [{"url": "https://fhir.example.org/r4"}]}, "missing property 'cidrs'"),
    ({**DEFAULTS, "fhirServer": [{"url": "https://fhir.example.org/r4", "cidrs": ["10.0.0.1/32"]}]},
     "additional properties 'fhirServer' not allowed"),
    ({**DEFAULTS, "database": {"cidr": ["10.0.0.1/32"]}}, "additional properties 'cidr' not allowed"),
    ({**DEFAULTS, "image": {"repository": "x", "digest": "latest"}}, "does not match pattern"),
    ({**DEFAULTS, "metrics": {"token": "short"}}, "does not match pattern"),
])
def test_a_release_that_could_not_work_is_refused_with_the_value_to_change(values: dict[str, Any],
                                                                           message: str) -> None:
    assert message in refusal(values)


# ------------------------------------------------------------------------------------------ documentation


def _leaf_keys(values: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(values, dict) and values and prefix not in ("settings", "resources", "migrations.resources"):
        for key, value in values.items():
            yield from _leaf_keys(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


def test_every_value_is_in_the_readme_table() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, re.MULTILINE))
    assert set(_leaf_keys(values)) == documented, set(_leaf_keys(values)) ^ documented


# ------------------------------------------------------------------------------------------ the pod, run here


@pytest.mark.server
def test_the_rendered_pod_runs_the_service_it_describes(default_objects: dict[str, Any], tmp_path: Path) -> None:
    """The pod's init command and service command, run here with the environment the ConfigMap and Secret give
    them (their paths moved into tmp_path): the migration succeeds, the service starts, and the probes' paths answer
    200. Client authentication is on, as configured: a call without a token is a 401."""
    pod = default_objects["Deployment"]["spec"]["template"]["spec"]
    (init,), (main,) = pod["initContainers"], pod["containers"]
    env = dict(default_objects["ConfigMap"]["data"])
    assert env["CDS_DATABASE_URL"].startswith("sqlite:////data/")
    env["CDS_DATABASE_URL"] = env["CDS_DATABASE_URL"].replace("/data/", f"{tmp_path}/data/")
    (tmp_path / "data").mkdir()
    trusted = tmp_path / Path(env["CDS_TRUSTED_CLIENTS"]).name
    trusted.write_bytes(base64.b64decode(default_objects["Secret"]["data"]["trusted-clients.json"]))
    env["CDS_TRUSTED_CLIENTS"] = str(trusted)
    script = Path(sys.executable).parent / "leg-pain-cds"
    assert script.exists()

    command = [str(script), *init["command"][1:]]
    process_env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")} | env
    done = subprocess.run(command, env=process_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    assert main["command"][1:] == ["serve", "--host", "0.0.0.0", "--port", str(main["ports"][0]["containerPort"])]
    with serve_subprocess(tmp_path, env, command=(str(script),), port=free_port()) as (_, base):
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            answer = requests.get(base + main[probe]["httpGet"]["path"], timeout=10)
            assert answer.status_code == 200, (probe, answer.text)
        assert requests.post(f"{base}/cds-services/leg-pain-causes", json={}, timeout=10).status_code == 401
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 200
