"""Render the Kubernetes manifests under deploy/kubernetes/ and check them, offline.

    python scripts/k8s_manifests.py render deploy/kubernetes/overlays/example
    python scripts/k8s_manifests.py check          # what scripts/check_configs.sh runs

`render` does what `kubectl kustomize` does for the part of kustomize these manifests
use: `resources` (files and folders), `namespace`, `images` and strategic-merge `patches`
(maps merged key by key, lists of named items merged by `name`, other lists replaced).
Any other kustomization field stops it, so the manifests cannot drift into a feature
this renderer would silently get wrong; real clusters use `kubectl apply -k`.

`check` renders the base and every overlay, and validates each document (and the
Secret example, which no kustomization applies) against the Kubernetes OpenAPI schemas
shipped in the `kubernetes-validate` package, strictly (an unknown field is an error),
for the oldest and the newest Kubernetes release the manifests support. No cluster and
no network are needed.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
# Oldest and newest releases validated (HPA autoscaling/v2 and PDB policy/v1 need 1.25+).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass"}

Manifest = dict[str, Any]


class RenderError(Exception):
    """A kustomization this renderer cannot render faithfully."""


def load_documents(path: Path) -> list[Manifest]:
    """The non-empty YAML documents of one file."""
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc]


def render(directory: Path) -> list[Manifest]:
    """The manifests that `kubectl kustomize directory` prints, in resource order."""
    kustomization = load_documents(directory / "kustomization.yaml")[0]
    unsupported = set(kustomization) - SUPPORTED_FIELDS
    if unsupported:
        raise RenderError(
            f"{directory}: unsupported kustomization field(s) {sorted(unsupported)}; "
            f"this renderer handles {sorted(SUPPORTED_FIELDS)}"
        )
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        manifests.extend(render(path) if path.is_dir() else load_documents(path))
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise RenderError(f"{directory}: only `patches: - path: <file>` is supported")
        for document in load_documents(directory / patch["path"]):
            _apply_patch(manifests, document, directory / patch["path"])
    for image in kustomization.get("images", []):
        _set_image(manifests, image)
    namespace = kustomization.get("namespace")
    if namespace:
        for manifest in manifests:
            if manifest["kind"] not in CLUSTER_SCOPED_KINDS:
                manifest.setdefault("metadata", {})["namespace"] = namespace
    return manifests


def _apply_patch(manifests: list[Manifest], patch: Manifest, source: Path) -> None:
    for index, manifest in enumerate(manifests):
        if (manifest["kind"], manifest["metadata"]["name"]) == (
            patch["kind"],
            patch["metadata"]["name"],
        ):
            manifests[index] = merge(manifest, patch)
            return
    raise RenderError(f"{source}: no {patch['kind']} {patch['metadata']['name']} to patch")


def merge(base: Any, patch: Any) -> Any:
    """A strategic merge: maps key by key (null deletes), named lists by `name`."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if _named_list(base) and _named_list(patch):
        merged_list = copy.deepcopy(base)
        positions = {item["name"]: i for i, item in enumerate(merged_list)}
        for item in patch:
            if item["name"] in positions:
                i = positions[item["name"]]
                merged_list[i] = merge(merged_list[i], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def pod_spec(manifest: Manifest) -> Manifest | None:
    """The pod spec of a Deployment, Job, StatefulSet or DaemonSet, else None."""
    template = manifest.get("spec", {}).get("template")
    return template.get("spec") if template else None


def _set_image(manifests: list[Manifest], image: Manifest) -> None:
    for manifest in manifests:
        spec = pod_spec(manifest)
        if spec is None:
            continue
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            name, _, tag = container["image"].partition(":")
            if name != image["name"]:
                continue
            container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
            container["image"] = container["image"].rstrip(":")


def kustomizations() -> list[Path]:
    """Every folder under deploy/kubernetes/ with a kustomization.yaml, base first."""
    return sorted(p.parent for p in KUBERNETES_DIR.rglob("kustomization.yaml"))


def validate(manifest: Manifest, version: str) -> None:
    """Raise when `manifest` does not match the Kubernetes `version` schema, strictly."""
    import kubernetes_validate  # a large package of schemas: loaded only to check

    kubernetes_validate.validate(manifest, version, strict=True)


def check() -> tuple[int, list[str]]:
    """How many documents were checked, and the problems found, in every rendered
    kustomization and the Secret example."""
    targets: list[tuple[str, list[Manifest]]] = []
    problems: list[str] = []
    for directory in kustomizations():
        try:
            targets.append((str(directory.relative_to(ROOT)), render(directory)))
        except (RenderError, OSError, yaml.YAMLError) as error:
            problems.append(f"{directory.relative_to(ROOT)}: {error}")
    for example in sorted(KUBERNETES_DIR.rglob("*.example.yaml")):
        targets.append((str(example.relative_to(ROOT)), load_documents(example)))
    for label, manifests in targets:
        for manifest in manifests:
            name = f"{label}: {manifest.get('kind')} {manifest.get('metadata', {}).get('name')}"
            for version in KUBERNETES_VERSIONS:
                try:
                    validate(manifest, version)
                except Exception as error:  # the package's errors share no base class
                    problems.append(f"{name} (Kubernetes {version}): {error}")
    return sum(len(manifests) for _, manifests in targets), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    render_parser = sub.add_parser("render", help="print the manifests of a kustomization")
    render_parser.add_argument("directory", type=Path)
    sub.add_parser("check", help="render every kustomization and validate it offline")
    args = parser.parse_args(argv)
    if args.command == "render":
        yaml.safe_dump_all(render(args.directory), sys.stdout, sort_keys=False)
        return 0
    count, problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    versions = " and ".join(KUBERNETES_VERSIONS)
    print(f"{count} manifests checked against Kubernetes {versions}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
