"""The offline service images (images/phoenix, images/ollama) and the offline node's profile
(values/local.yaml), without a cluster: every copy of a pinned version agrees with versions.env,
the profile renders exactly the runtime-less stack from local images, the image tooling packs
layer tars, and the build scripts refuse bad input with a message naming it.
The images themselves run in tests/smoke/test_services.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from cogniverse_chart import CHART_DIR, PROFILES_DIR, versions
from chart_utils import by_kind

ROOT = CHART_DIR.parent.parent
OCI_IMAGE = ROOT / "cluster" / "images" / "oci_image.py"
OCI_NAMES = ROOT / "cluster" / "images" / "oci_names.py"
VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())


# ---- one source per version ----------------------------------------------------------------------

def test_chart_image_tags_are_the_pinned_service_versions():
    assert VALUES["phoenix"]["image"]["tag"] == f"version-{versions.get('PHOENIX_VERSION')}-nonroot"
    assert VALUES["llm"]["image"]["tag"] == versions.get("OLLAMA_VERSION")


def test_ollama_wrapper_module_requires_the_pinned_version():
    gomod = (ROOT / "images" / "ollama" / "go.mod").read_text()
    assert re.search(rf"^\s*(require\s+)?github\.com/ollama/ollama v{re.escape(versions.get('OLLAMA_VERSION'))}( // indirect)?$",
                     gomod, re.M), "images/ollama/go.mod does not require OLLAMA_VERSION"
    assert "tool github.com/ollama/ollama" in gomod


def test_phoenix_lock_pins_the_pinned_version_and_only_exact_versions():
    lines = [ln for ln in (ROOT / "images" / "phoenix" / "requirements.lock").read_text().splitlines()
             if ln and not ln.startswith("#")]
    assert f"arize-phoenix=={versions.get('PHOENIX_VERSION')}" in lines
    bad = [ln for ln in lines if not re.fullmatch(r"[a-z0-9._-]+==[A-Za-z0-9.+!-]+", ln)]
    assert not bad, f"requirements.lock lines that are not name==version: {bad}"
    assert len({ln.split("==")[0] for ln in lines}) == len(lines), "a package is pinned twice"


def test_chart_postgresql_image_is_the_one_images_postgresql_builds():
    """phoenix.database.postgresql.image: the repository build.sh names, the tag POSTGRESQL_VERSION with '+' as '_'
    (an image tag admits no '+'), and cluster/services/images.sh builds and lists it with the other service images."""
    image = VALUES["phoenix"]["database"]["postgresql"]["image"]
    assert image["tag"] == versions.get("POSTGRESQL_VERSION").replace("+", "_")
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", image["tag"])
    script = (ROOT / "images" / "postgresql" / "build.sh").read_text()
    assert f"IMAGE={image['repository']}\n" in script and "TAG=${VERSION//+/_}" in script and 'image_pack "$IMAGE:$TAG"' in script
    services = (ROOT / "cluster" / "services" / "images.sh").read_text()
    assert "for name in phoenix ollama postgresql; do" in services and '"$OUT"/postgresql-*.tar' in services


def test_build_scripts_name_the_images_the_chart_pins():
    phoenix = (ROOT / "images" / "phoenix" / "build.sh").read_text()
    ollama = (ROOT / "images" / "ollama" / "build.sh").read_text()
    assert f"IMAGE={VALUES['phoenix']['image']['repository']}\n" in phoenix and 'TAG="version-$VERSION-nonroot"' in phoenix
    assert f"IMAGE={VALUES['llm']['image']['repository']}\n" in ollama and '"$IMAGE:$VERSION"' in ollama


# ---- the offline node's profile ------------------------------------------------------------------


def test_local_profile_renders_phoenix_and_ollama_from_local_images_only(render_chart):
    docs = render_chart(profile="local")
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {"cogniverse-phoenix", "cogniverse-llm"}
    assert not by_kind(docs, "StatefulSet"), "Vespa must be off on the offline node"
    for name, dep in deployments.items():
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        assert c["imagePullPolicy"] == "Never", f"{name} would try a registry"
    claims = by_kind(docs, "PersistentVolumeClaim")
    assert {"cogniverse-phoenix-data", "cogniverse-llm-models"} <= set(claims)
    assert {c["spec"].get("storageClassName") for c in claims.values()} == {"local-path"}


def test_local_profile_helm_test_checks_phoenix_and_ollama_with_the_service_check_image(render_chart):
    (pod,) = [d.obj for d in render_chart(profile="local") if d.kind == "Pod"]
    checks = {c["name"]: c for c in pod["spec"]["containers"]}
    assert set(checks) == {"check-phoenix", "check-llm"}
    assert checks["check-phoenix"]["command"][-1] == "http://cogniverse-phoenix.cogniverse.svc:6006/healthz"
    assert checks["check-llm"]["command"][-1] == "http://cogniverse-llm.cogniverse.svc:11434/api/version"
    images = {(c["image"], c["imagePullPolicy"]) for c in checks.values()}
    built = re.search(r"^CHECK_IMAGE=(\S+)", (ROOT / "cluster/services/images.sh").read_text(), re.M).group(1)
    assert images == {(built, "Never")}, "values/local.yaml tests.image is not the image cluster/services/images.sh builds"


def test_local_profile_validates_strictly(render_chart, strict_validator):
    findings = strict_validator.validate(render_chart(profile="local"))
    assert not findings, "\n".join(f.format() for f in findings)


def test_local_profile_passes_helm_lint_strict(helm):
    proc = helm.run(["lint", "--strict", str(CHART_DIR), "-f", str(PROFILES_DIR / "local.yaml")], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_local_profile_workflows_get_the_phoenix_url(render_chart):
    tmpl = by_kind(render_chart(profile="local"), "WorkflowTemplate")["tenant-provisioning"]
    (step,) = [t for t in tmpl["spec"]["templates"] if t["name"] == "create-phoenix-project"]
    env = {e["name"]: e.get("value") for e in step["container"]["env"]}
    assert env["PHOENIX_URL"] == "http://cogniverse-phoenix.cogniverse.svc:6006"
    assert env["LLM_URL"] == "http://cogniverse-llm.cogniverse.svc:11434"


# ---- image tooling -------------------------------------------------------------------------------

def _layer_tar(path: Path, name: str, content: bytes) -> Path:
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return path


def test_oci_image_stacks_layer_tars_below_the_files_layer(tmp_path):
    low = _layer_tar(tmp_path / "rootfs.tar", "etc/os-release", b"ID=debian\n")
    mid = _layer_tar(tmp_path / "env.tar", "phoenix/env/x.py", b"print(1)\n")
    app = tmp_path / "app"
    app.write_bytes(b"#!/bin/sh\n")
    out = tmp_path / "image.tar"
    proc = subprocess.run([sys.executable, str(OCI_IMAGE), "--name", "arizephoenix/phoenix:version-1-nonroot",
                           "--out", str(out), "--layer-tar", str(low), "--layer-tar", str(mid), "--user", "65532:65532",
                           "--expose", "6006/tcp", "--expose", "4317/tcp", f"{app}=/usr/bin/app:0755"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(out) as tar:
        index = json.loads(tar.extractfile("index.json").read())
        manifest = json.loads(tar.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]).read())
        config = json.loads(tar.extractfile("blobs/sha256/" + manifest["config"]["digest"][7:]).read())
        layers = [tar.extractfile("blobs/sha256/" + layer["digest"][7:]).read() for layer in manifest["layers"]]
    assert layers[0] == low.read_bytes() and layers[1] == mid.read_bytes()
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(b).hexdigest() for b in layers]
    assert config["config"]["User"] == "65532:65532"
    assert config["config"]["ExposedPorts"] == {"6006/tcp": {}, "4317/tcp": {}}
    names = subprocess.run([sys.executable, str(OCI_NAMES), "--list", str(out)], capture_output=True, text=True)
    assert names.stdout.split() == ["arizephoenix/phoenix:version-1-nonroot"]


@pytest.mark.parametrize("args,message", [
    (["--layer-tar", "{tmp}/missing.tar"], "missing.tar: not a file"),
    (["--layer-tar", "{tmp}/plain.txt"], "not a tar archive"),
    (["--expose", "6006"], "'6006' is not PORT/tcp or PORT/udp"),
    (["--expose", "70000/tcp"], "'70000/tcp' is not PORT/tcp"),
])
def test_oci_image_rejects_bad_layers_and_ports(tmp_path, args, message):
    (tmp_path / "plain.txt").write_text("not a tar")
    argv = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, str(OCI_IMAGE), "--name", "x/y:1", "--out", str(tmp_path / "o.tar"), *argv],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "o.tar").exists()


@pytest.mark.parametrize("script", ["images/phoenix/build.sh", "images/ollama/build.sh", "images/postgresql/build.sh",
                                    "cluster/services/debian_rootfs.sh"])
def test_build_scripts_refuse_unknown_flags(script):
    proc = subprocess.run([str(ROOT / script), "--bogus"], capture_output=True, text=True)
    assert proc.returncode != 0 and "unknown flag '--bogus'" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_debian_rootfs_refuses_a_hostile_package_list(tmp_path):
    proc = subprocess.run([str(ROOT / "cluster/services/debian_rootfs.sh"), "--out", str(tmp_path / "r.tar"),
                           "--include", "python3;touch /tmp/pwned"], capture_output=True, text=True)
    assert proc.returncode == 1 and "is not a comma-separated list of Debian package names" in proc.stderr
    assert not (tmp_path / "r.tar").exists()


def test_postgresql_image_is_cached_by_the_pinned_package_version():
    """images/postgresql/build.sh builds postgresql-15 at POSTGRESQL_VERSION (refusing another) into an archive
    and a root filesystem named by that version, so a new point release is a new build and an old one is reused."""
    script = (ROOT / "images/postgresql/build.sh").read_text()
    assert 'VERSION=$(pin POSTGRESQL_VERSION)' in script
    assert 'NAME=postgresql\n' in script and 'image_cached "$VERSION"' in script and 'rootfs="$CACHE/rootfs/postgresql-$VERSION-' in script
    assert 'the Debian mirror serves postgresql-15 $got, versions.env pins POSTGRESQL_VERSION=$VERSION' in script
    assert versions.get("POSTGRESQL_VERSION").startswith("15.")


@pytest.mark.parametrize("password,refused", [("pw-from-echo\n", True), ("two\nlines", True), ("no:line@break/é", False)])
def test_postgresql_entrypoint_refuses_a_password_file_with_a_line_break(tmp_path, password, refused):
    """attack22 P27 (seen with the real PostgreSQL 15): initdb kept the first line of a Secret made with
    `--from-file` of `echo pw > f`, Phoenix sent the trailing newline, and nobody could log in."""
    (tmp_path / "password").write_text(password)
    proc = subprocess.run([str(ROOT / "images/postgresql/start.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PGDATA": str(tmp_path / "data"), "POSTGRES_USER": "phoenix",
                               "POSTGRES_PASSWORD_FILE": str(tmp_path / "password")})
    if refused:
        assert proc.returncode == 2 and "holds a line break" in proc.stderr and "--from-literal" in proc.stderr
        assert not (tmp_path / "data").exists()
    else:  # past the check: on to initdb (absent here)
        assert "line break" not in proc.stderr and "initdb" in proc.stderr


def test_postgresql_entrypoint_refuses_to_start_without_a_password(tmp_path):
    proc = subprocess.run([str(ROOT / "images/postgresql/start.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PGDATA": str(tmp_path / "data"), "POSTGRES_USER": "phoenix"})
    assert proc.returncode == 2 and "set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD" in proc.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("user,message", [(None, "set POSTGRES_USER"), ("postgres", "must not be postgres")])
def test_postgresql_entrypoint_refuses_no_role_or_the_superuser_for_the_application(tmp_path, user, message):
    """attack22 P23: Phoenix's role was the server's superuser (a client with its password could run programs in
    the pod through COPY ... TO PROGRAM); the application's role is now never the superuser."""
    env = {"PATH": "/usr/bin:/bin", "PGDATA": str(tmp_path / "data"), "POSTGRES_PASSWORD": "pw"}
    if user:
        env["POSTGRES_USER"] = user
    proc = subprocess.run([str(ROOT / "images/postgresql/start.sh")], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and message in proc.stderr
    assert not (tmp_path / "data").exists()
