"""The Kubernetes manifests (deploy/k8s) agree with the code: every app as Deployment + Service + HPA + PDB with the
right probes, NATS as a 3-node StatefulSet, and every setting the code requires in production provided."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kam.registry import APPS, ROOT
from shared.settings import PLATFORM_WIDE, required_in_production

K8S = ROOT / "deploy" / "k8s"
SECRET_TEMPLATE = "secret.example.yaml"


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


MANIFESTS = {path.name: load(path) for path in sorted(K8S.glob("*.yaml"))}
KUSTOMIZATION = MANIFESTS["kustomization.yaml"][0]
OBJECTS = [doc for name in KUSTOMIZATION["resources"] for doc in MANIFESTS[name]]
SECRET = MANIFESTS[SECRET_TEMPLATE][0]


def one(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in OBJECTS if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def container_of(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def env_names(container: dict[str, Any]) -> set[str]:
    """Every variable a container gets: its env (secret keys must exist in the template) and its envFrom maps."""
    names = set()
    for var in container.get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref is not None:
            assert ref["name"] == SECRET["metadata"]["name"] and ref["key"] in SECRET["stringData"], var
        names.add(var["name"])
    for source in container.get("envFrom", []):
        config = source["configMapRef"]["name"]
        names |= set(one("ConfigMap", config).get("data") or {})
    return names


def test_every_manifest_parses_and_kustomize_applies_all_but_the_secret_template():
    assert set(KUSTOMIZATION["resources"]) == set(MANIFESTS) - {"kustomization.yaml", SECRET_TEMPLATE}
    assert KUSTOMIZATION["namespace"] == one("Namespace", "kam")["metadata"]["name"]
    for docs in MANIFESTS.values():
        assert all("kind" in doc and "apiVersion" in doc for doc in docs)
    assert all(value == "" for value in SECRET["stringData"].values()), "the template holds no values"


@pytest.mark.parametrize("app", list(APPS))
def test_each_app_has_a_deployment_service_hpa_and_pdb_with_probes_on_its_port(app: str):
    info = APPS[app]
    deployment = one("Deployment", app)
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    container = container_of(deployment)
    assert info.factory in container["command"] and "8000" in container["command"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port == {"http": 8000}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"requests", "limits"} <= set(container["resources"])
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}, "a writable /tmp on a read-only root"
    service = one("Service", app)
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http"}]
    hpa = one("HorizontalPodAutoscaler", app)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": app}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = one("PodDisruptionBudget", app)
    assert pdb["spec"]["minAvailable"] == 1 and pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("app", list(APPS))
def test_every_setting_required_in_production_is_provided_by_the_configmaps_and_the_secret(app: str):
    """Derived from the settings classes (shared.settings.required_in_production), never a hand list."""
    info = APPS[app]
    fields = type(info.settings()).model_fields
    names = env_names(container_of(one("Deployment", app)))
    for field in required_in_production(type(info.settings())):
        as_app, as_platform = f"{info.env_prefix}{field.upper()}", f"KAM_{field.upper()}"
        assert as_app in names or (field in PLATFORM_WIDE and as_platform in names), f"{app}: {field} is not set"
    for name in names:
        app_field, platform_field = name.removeprefix(info.env_prefix).lower(), name.removeprefix("KAM_").lower()
        if name.startswith(info.env_prefix):
            assert app_field in fields, f"{app}: {name} is not a setting"
        else:
            assert name.startswith("KAM_") and platform_field in PLATFORM_WIDE, f"{app}: {name} has a wrong prefix"
    platform = one("ConfigMap", "kam-platform")["data"]
    assert platform["KAM_ENVIRONMENT"] == "production" and platform["KAM_NATS_STREAM_REPLICAS"] == "3"


def test_nats_is_a_three_node_statefulset_with_routes_storage_and_the_compose_configuration():
    nats = one("StatefulSet", "nats")
    spec = nats["spec"]
    assert spec["replicas"] == 3
    headless = one("Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    args = container_of(nats)["args"]
    routes = set(args[args.index("--routes") + 1].split(","))
    assert routes == {f"nats://nats-{i}.{spec['serviceName']}:6222" for i in range(3)}
    assert args[args.index("--name") + 1] == "$(POD_NAME)" and args[args.index("--cluster_name") + 1] == "kam"
    claims = spec["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container_of(nats)["volumeMounts"]}
    assert mounts[claims[0]["metadata"]["name"]] == "/data", "the JetStream store on a PVC per node"
    conf = one("ConfigMap", "nats-config")["data"]["nats.conf"]
    assert conf == (ROOT / "deploy" / "nats" / "nats.conf").read_text(), "one configuration for compose and k8s"
    assert re.search(r"store_dir: /data", conf)
    assert one("PodDisruptionBudget", "nats")["spec"]["maxUnavailable"] == 1, "two of three keep the quorum"
    assert one("Service", "nats")["spec"]["ports"][0]["port"] == 4222
    assert int(one("ConfigMap", "kam-platform")["data"]["KAM_NATS_STREAM_REPLICAS"]) <= spec["replicas"]


def test_the_ingress_sends_everything_to_the_gateway_over_tls():
    ingress = one("Ingress", "gateway")
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"] for rule in ingress["spec"]["rules"]]
    backends = [p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert backends == [{"name": "gateway", "port": {"name": "http"}}]
    assert "--proxy-headers" in container_of(one("Deployment", "gateway"))["command"]
