"""deploy/kubernetes/: the manifests render, match the Kubernetes schemas, and run the
services the way the code expects (probes, shutdown, migrations, secrets, exposure)."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import pytest
import yaml

from scripts import k8s_manifests
from scripts.k8s_manifests import KUBERNETES_DIR, ROOT, RenderError, pod_spec, render

BASE = KUBERNETES_DIR / "base"
EXAMPLE = KUBERNETES_DIR / "overlays" / "example"
SECRET_EXAMPLE = EXAMPLE / "secret.example.yaml"
SERVICES = ("api", "worker", "delivery")


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict]:
    """The example overlay, rendered, by (kind, name)."""
    return {(m["kind"], m["metadata"]["name"]): m for m in render(EXAMPLE)}


def deployment(manifests, service: str) -> dict:
    return manifests[("Deployment", f"notifier-{service}")]


def container(manifests, service: str) -> dict:
    return pod_spec(deployment(manifests, service))["containers"][0]


def all_pod_specs(manifests):
    return [(key, pod_spec(m)) for key, m in manifests.items() if pod_spec(m) is not None]


def gunicorn_setting(path: Path, name: str) -> int:
    """A literal `name = <int>` assignment in a gunicorn config file (not executed: it
    has side effects at import)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [name]:
            return node.value.value
    raise AssertionError(f"{name} not set in {path}")


def pre_stop_seconds(spec: dict) -> int:
    command = spec["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    return int(command[1])


def test_every_kustomization_and_the_secret_example_match_the_kubernetes_schemas():
    count, problems = k8s_manifests.check()
    assert problems == []
    assert count >= 30


def test_the_schema_check_refuses_a_misspelt_field(manifests):
    broken = copy.deepcopy(deployment(manifests, "api"))
    pod_spec(broken)["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(Exception, match="imagePullPolicyy"):
        k8s_manifests.validate(broken, k8s_manifests.KUBERNETES_VERSIONS[-1])


def test_the_renderer_refuses_a_kustomize_field_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        "resources: []\nconfigMapGenerator:\n  - name: x\n    literals: [A=1]\n"
    )
    with pytest.raises(RenderError, match="configMapGenerator"):
        render(tmp_path)


def test_the_check_command_reports_no_problems(capsys):
    assert k8s_manifests.main(["check"]) == 0
    assert "0 problems" in capsys.readouterr().out


def test_the_example_overlay_sets_namespace_image_and_its_patches(manifests):
    for (kind, _), manifest in manifests.items():
        if kind != "Namespace":
            assert manifest["metadata"]["namespace"] == "notifier"
    for _, spec in all_pod_specs(manifests):
        for c in spec.get("initContainers", []) + spec["containers"]:
            assert c["image"] == "registry.example.com/notifier:1.0"
    hpa = manifests[("HorizontalPodAutoscaler", "notifier-api")]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 20)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"  # kept from the base
    config = manifests[("ConfigMap", "notifier-config")]["data"]
    assert config["PUBLIC_BASE_URL"] == "https://notify.example.com"
    assert config["DELIVERY_SERVICE_URL"] == "http://notifier-delivery:8001"


def test_every_pod_runs_as_non_root_without_privileges_and_with_limits(manifests):
    for key, spec in all_pod_specs(manifests):
        assert spec["securityContext"]["runAsNonRoot"] is True, key
        assert spec["securityContext"]["runAsUser"] == 10001, key  # the image's user
        assert spec["automountServiceAccountToken"] is False, key
        for c in spec.get("initContainers", []) + spec["containers"]:
            context = c["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (key, c["name"])
            assert context["readOnlyRootFilesystem"] is True, (key, c["name"])
            assert context["capabilities"]["drop"] == ["ALL"], (key, c["name"])
            mounts = {m["mountPath"] for m in c["volumeMounts"]}
            assert "/tmp" in mounts, (key, c["name"])  # noqa: S108 (an emptyDir)
            assert set(c["resources"]["requests"]) == {"cpu", "memory"}, (key, c["name"])
            assert set(c["resources"]["limits"]) == {"cpu", "memory"}, (key, c["name"])


def test_api_is_live_on_health_and_ready_on_ready(manifests):
    api = container(manifests, "api")
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert api["ports"][0]["containerPort"] == 8000


def test_delivery_is_probed_on_health(manifests):
    delivery = container(manifests, "delivery")
    assert delivery["livenessProbe"]["httpGet"]["path"] == "/health"
    assert delivery["readinessProbe"]["httpGet"]["path"] == "/health"
    assert delivery["ports"][0]["containerPort"] == 8001


def test_delivery_listens_on_the_pod_address_at_its_container_port(manifests):
    """Its own default is loopback, which neither the Service nor the probes can reach."""
    config = manifests[("ConfigMap", "notifier-delivery-config")]["data"]
    port = container(manifests, "delivery")["ports"][0]["containerPort"]
    assert config["DELIVERY_BIND"] == f"0.0.0.0:{port}"


def test_worker_is_probed_on_the_metrics_port_it_is_told_to_open(manifests):
    worker = container(manifests, "worker")
    env = {e["name"]: e.get("value") for e in worker["env"]}
    port = int(env["WORKER_METRICS_PORT"])
    assert worker["ports"] == [{"name": "metrics", "containerPort": port}]
    assert worker["livenessProbe"]["tcpSocket"]["port"] == "metrics"
    assert worker["readinessProbe"]["tcpSocket"]["port"] == "metrics"


@pytest.mark.parametrize(
    ("service", "gunicorn_conf"),
    [("api", "gunicorn.conf.py"), ("delivery", "delivery/gunicorn.conf.py")],
)
def test_http_pods_drain_within_their_grace_period(manifests, service, gunicorn_conf):
    """SIGTERM comes after the preStop pause; gunicorn then lets requests finish for its
    graceful timeout. Both must fit in the grace period, or requests are cut off."""
    spec = pod_spec(deployment(manifests, service))
    graceful = gunicorn_setting(ROOT / gunicorn_conf, "graceful_timeout")
    pause = pre_stop_seconds(spec["containers"][0])
    assert pause >= 1
    assert spec["terminationGracePeriodSeconds"] > pause + graceful


def test_worker_grace_period_outlasts_its_in_flight_sends(manifests):
    """A stopping worker finishes each in-flight delivery and webhook send (each bounded by
    its timeout) and records it; the kubelet must not kill it first."""
    config = manifests[("ConfigMap", "notifier-config")]["data"]
    longest_send = max(float(config["DELIVERY_TIMEOUT_S"]), float(config["WEBHOOK_TIMEOUT_S"]))
    grace = pod_spec(deployment(manifests, "worker"))["terminationGracePeriodSeconds"]
    assert grace >= 2 * longest_send + 10


def test_migrations_run_as_a_job_that_the_api_and_worker_wait_for(manifests):
    job = manifests[("Job", "notifier-migrate")]
    assert pod_spec(job)["containers"][0]["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    for service in ("api", "worker"):
        (init,) = pod_spec(deployment(manifests, service))["initContainers"]
        assert init["args"][:4] == ["flask", "--app", "wsgi", "wait-for-schema"]
    assert "initContainers" not in pod_spec(deployment(manifests, "delivery"))  # no database


def test_the_delivery_service_is_reachable_only_from_the_worker(manifests):
    service = manifests[("Service", "notifier-delivery")]
    assert service["spec"]["type"] == "ClusterIP"
    ingress_backends = [
        path["backend"]["service"]["name"]
        for (kind, _), m in manifests.items()
        if kind == "Ingress"
        for rule in m["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert ingress_backends == ["notifier-api"]
    policy = manifests[("NetworkPolicy", "notifier-delivery")]["spec"]
    assert policy["podSelector"]["matchLabels"] == service["spec"]["selector"]
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    worker_labels = deployment(manifests, "worker")["spec"]["template"]["metadata"]["labels"]
    assert source["podSelector"]["matchLabels"] == worker_labels
    assert rule["ports"] == [{"protocol": "TCP", "port": 8001}]


def test_services_budgets_and_autoscalers_select_their_pods(manifests):
    for service in SERVICES:
        labels = deployment(manifests, service)["spec"]["template"]["metadata"]["labels"]
        budget = manifests[("PodDisruptionBudget", f"notifier-{service}")]
        assert budget["spec"]["selector"]["matchLabels"] == labels
    for service in ("api", "delivery"):
        labels = deployment(manifests, service)["spec"]["template"]["metadata"]["labels"]
        assert manifests[("Service", f"notifier-{service}")]["spec"]["selector"] == labels
        hpa = manifests[("HorizontalPodAutoscaler", f"notifier-{service}")]
        assert hpa["spec"]["scaleTargetRef"]["name"] == f"notifier-{service}"
        assert hpa["spec"]["minReplicas"] >= 2
        # The autoscaler owns the replica count: an apply must not reset it.
        assert "replicas" not in deployment(manifests, service)["spec"]


def _secret_references(manifests) -> dict[str, bool]:
    """Secret keys the pods read, each with whether it is optional."""
    refs: dict[str, bool] = {}
    for _, spec in all_pod_specs(manifests):
        for c in spec.get("initContainers", []) + spec["containers"]:
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "notifier-secrets"
                    refs[ref["key"]] = ref.get("optional", False)
    return refs


def test_the_secret_example_holds_every_required_key_and_only_placeholders(manifests):
    (secret,) = k8s_manifests.load_documents(SECRET_EXAMPLE)
    values = secret["stringData"]
    refs = _secret_references(manifests)
    required = {key for key, optional in refs.items() if not optional}
    assert required == {
        "DATABASE_URL",
        "JWT_SECRET_KEY",
        "DELIVERY_API_TOKEN",
        "DELIVERY_IDEMPOTENCY_URL",
    }
    assert required <= set(values)
    text = SECRET_EXAMPLE.read_text()
    for key in refs:  # optional ones at least shown, commented out
        assert re.search(rf"^\s*#? ?{key}:", text, re.MULTILINE), key
    for key, value in values.items():
        assert "REPLACE" in value, key
    # A forgotten placeholder stops the service: both need at least 32 bytes.
    assert len(values["JWT_SECRET_KEY"].encode()) < 32
    assert len(values["DELIVERY_API_TOKEN"].encode()) < 32


def test_no_kustomization_applies_the_secret_example_and_git_ignores_a_filled_copy():
    for directory in k8s_manifests.kustomizations():
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        assert not any("secret" in entry for entry in kustomization.get("resources", []))
    assert "deploy/kubernetes/**/secret.yaml" in (ROOT / ".gitignore").read_text().splitlines()


def test_every_setting_the_base_configmaps_set_is_described_in_env_example():
    documented = (ROOT / ".env.example").read_text()
    for configmap in k8s_manifests.load_documents(BASE / "configmap.yaml"):
        for key in configmap["data"]:
            assert re.search(rf"^#? ?{key}=", documented, re.MULTILINE), key
