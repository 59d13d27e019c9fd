"""Shipping the chart: package -> sign -> verify -> push -> pull against a real OCI registry on loopback
(the CNCF Distribution registry built from its Go module, with TLS and htpasswd basic auth;
tests/lib/registrylib.py), with Helm 3 and Helm 4. Version discipline and the Artifact Hub annotations:
test_release.py."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import time
from pathlib import Path

import pytest

from cogniverse_chart import cli, release, versions
from cogniverse_chart import package as pkg
from cogniverse_chart.errors import ToolkitError
from cogniverse_chart.helm import available_helms, find_helm
from cogniverse_chart.render import RenderRequest, profile_path, render_text

import registrylib
from registrylib import key, registry, registry_binary  # noqa: F401 (fixtures)

HELMS = available_helms()
HELM_IDS = [h.label for h in HELMS]


# --- the registry pin ----------------------------------------------------------------------------

def test_registry_module_pins_the_version_in_versions_env():
    assert registrylib.gomod_version() == versions.get("REGISTRY_DISTRIBUTION_VERSION")


# --- package, sign, push, pull against a real registry -------------------------------------------

def _reg(reg, tmp_path: Path, password: str | None = None) -> pkg.Registry:
    return pkg.Registry(reg.url, reg.username, reg.password if password is None else password,
                        reg.ca_file, tmp_path / "registry-config.json")


@pytest.mark.parametrize("helm", HELMS, ids=HELM_IDS)
def test_package_is_signed_and_verifies(helm, key, tmp_path):
    tgz = pkg.package(helm, tmp_path, signing=pkg.Signing(key.name, key.secring))
    assert tgz.name == f"cogniverse-{release.chart_version()}.tgz"
    assert Path(f"{tgz}.prov").read_text().startswith("-----BEGIN PGP SIGNED MESSAGE-----")
    pkg.verify(helm, tgz, key.pubring)


@pytest.mark.parametrize("helm", HELMS, ids=HELM_IDS)
def test_unsigned_package_is_refused(helm, key, registry, tmp_path):
    tgz = pkg.package(helm, tmp_path)
    with pytest.raises(ToolkitError, match=r"is not signed: no provenance file .*\.prov"):
        pkg.verify(helm, tgz, key.pubring)
    with pytest.raises(ToolkitError, match="is not signed"):
        pkg.push(helm, tgz, _reg(registry, tmp_path), key.pubring)
    with pytest.raises(ToolkitError, match="an unsigned chart is never pushed"):
        pkg.run_pipeline(helm, tmp_path, registry=_reg(registry, tmp_path))


def _tamper(tgz: Path) -> None:
    """Rewrite the package with one extra line in values.yaml, keeping the old .prov."""
    with tarfile.open(tgz) as src:
        members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
    with tarfile.open(tgz, "w:gz") as dst:
        for m, data in members:
            if m.name.endswith("/values.yaml") and m.name.count("/") == 1:
                data += b"\nrogue: true\n"
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)


@pytest.mark.parametrize("helm", HELMS, ids=HELM_IDS)
def test_tampered_package_is_refused(helm, key, tmp_path):
    tgz = pkg.package(helm, tmp_path, signing=pkg.Signing(key.name, key.secring))
    _tamper(tgz)
    with pytest.raises(ToolkitError, match="does not match its signature .*changed after signing"):
        pkg.verify(helm, tgz, key.pubring)


def test_package_signed_by_an_unknown_key_is_refused(key, tmp_path):
    helm = find_helm()
    other = registrylib.make_gpg_key(tmp_path / "other", name="Someone Else")
    tgz = pkg.package(helm, tmp_path / "out", signing=pkg.Signing(other.name, other.secring))
    with pytest.raises(ToolkitError, match=f"verifying .* failed: .*not from a key in {key.pubring}"):
        pkg.verify(helm, tgz, key.pubring)


@pytest.mark.parametrize("helm", HELMS, ids=HELM_IDS)
def test_wrong_password_is_refused(helm, registry, tmp_path):
    with pytest.raises(ToolkitError, match=r"refused the login of user 'chart-publisher' \(401 unauthorized\)"):
        pkg.login(helm, _reg(registry, tmp_path, password="not-the-password"))


def test_push_without_login_is_refused(key, registry, tmp_path):
    helm = find_helm()
    tgz = pkg.package(helm, tmp_path, signing=pkg.Signing(key.name, key.secring))
    anonymous = pkg.Registry(registry.url, ca_file=registry.ca_file, config=tmp_path / "empty.json")
    with pytest.raises(ToolkitError, match="refused the push .*log in first"):
        pkg.push(helm, tgz, anonymous, key.pubring)


def test_private_ca_is_required(registry, tmp_path):
    helm = find_helm()
    untrusted = pkg.Registry(registry.url, registry.username, registry.password, None, tmp_path / "c.json")
    with pytest.raises(ToolkitError, match=r"logging in to 127\.0\.0\.1:\d+ failed: .*--ca-file"):
        pkg.login(helm, untrusted)


def _render_same(helm, tgz: Path) -> None:
    for profile in ("smoke", "production"):
        from_tree = render_text(RenderRequest(values_files=[profile_path(profile)]), helm)
        from_oci = render_text(RenderRequest(values_files=[profile_path(profile)], chart=tgz), helm)
        assert from_oci == from_tree, f"{helm.label}: the chart pulled from OCI renders {profile} differently"


@pytest.mark.parametrize("helm", HELMS, ids=HELM_IDS)
def test_push_then_pull_renders_like_the_tree(helm, key, registry, tmp_path):
    """package+sign -> verify -> login -> push with this Helm; pull --verify back and render it."""
    reg = _reg(registry, tmp_path)
    result = pkg.run_pipeline(helm, tmp_path / "out", signing=pkg.Signing(key.name, key.secring),
                              verify_keyring=key.pubring, registry=reg)
    version = release.chart_version()
    assert result.ref == f"{registry.host}/charts/cogniverse:{version}"
    ref = f"{registry.url}/cogniverse"
    assert not reg.config.exists()  # the push logged in for itself only: log in to pull
    pkg.login(helm, reg)
    if helm.version == (3, 18, 0):
        # Helm 3.18.0 cannot pull any OCI chart that has a provenance layer (upstream helm/helm#30890):
        # the user gets our one line naming the cause; the package pulled and verified by Helm 4 is what
        # Helm 3 then installs, and it renders like the tree.
        with pytest.raises(ToolkitError, match="provenance.v1.prov\" is not allowed"):
            pkg.pull(helm, ref, version, tmp_path / "pull", registry=reg, keyring=key.pubring)
        puller = find_helm(4)
        pkg.login(puller, reg)
    else:
        puller = helm
    tgz = pkg.pull(puller, ref, version, tmp_path / "pull", registry=reg, keyring=key.pubring)
    assert tgz.read_bytes() == result.package.read_bytes()
    _render_same(helm, tgz)


def test_cli_packages_signs_and_pushes_leaving_no_credentials(key, registry, tmp_path, monkeypatch, capsys):
    """The password reaches Helm on stdin only (never in an argument), and after the push no file anywhere
    Helm or the toolkit could write (HOME, the config home, the temporary directory) holds it."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    for d in (home, tmp):
        d.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("HELM_REGISTRY_CONFIG", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp))
    argvs: list[list[str]] = []
    run = pkg.Helm.run
    monkeypatch.setattr(pkg.Helm, "run", lambda self, args, **kw: argvs.append(args) or run(self, args, **kw))
    monkeypatch.setattr("sys.stdin", io.StringIO(registry.password + "\n"))
    code = cli.main(["-o", "json", "package", "--destination", str(tmp_path / "dist"), "--sign", "--key", key.name,
                     "--keyring", str(key.secring), "--verify-keyring", str(key.pubring), "--push", registry.url,
                     "--username", registry.username, "--ca-file", str(registry.ca_file)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["signed"] and out["pushed"].endswith(f"/charts/cogniverse:{release.chart_version()}")
    assert set(out["seconds"]) == {"package", "verify", "login", "push"}
    assert any("login" in a for a in argvs) and not any(registry.password in x for a in argvs for x in a)
    secret = registry.password.encode()
    import base64
    basic = base64.b64encode(f"{registry.username}:{registry.password}".encode())
    leftover = [p for p in tmp_path.rglob("*") if p.is_file() and (secret in p.read_bytes() or basic in p.read_bytes())]
    assert leftover == [] and list(tmp.iterdir()) == []  # the temporary registry config is gone too


def test_a_registry_that_stalls_after_tls_is_given_up_at_the_timeout(key, tmp_path, monkeypatch, capsys):
    """A stand-in registry (loopback) that completes the TLS handshake and never answers: Helm once waited
    400 s and more; `package --timeout 6` stops it and says so, and still leaves no credentials behind."""
    from standin_servers import StandinServer

    ca, cert, server_key = registrylib.make_tls(tmp_path / "tls")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
    with StandinServer("tls-stall", tls=(cert, server_key)) as srv:
        t0 = time.monotonic()
        code = cli.main(["package", "--destination", str(tmp_path / "dist"), "--sign", "--key", key.name,
                         "--keyring", str(key.secring), "--push", f"oci://127.0.0.1:{srv.port}/charts",
                         "--username", "u", "--ca-file", str(ca), "--timeout", "6"])
        took = time.monotonic() - t0
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "registry login did not finish within" in err and srv.requests >= 1, err
    assert took < 12, took  # the deadline, plus killing Helm on a loaded machine
    assert not list(tmp_path.glob("cogniverse-registry-*"))


@pytest.mark.parametrize("option, make, problem", [
    ("--ca-file", lambda d: Path("/dev/zero"), "--ca-file /dev/zero: is a device"),
    ("--ca-file", lambda d: _fifo(d / "ca.pem"), r"is a named pipe \(FIFO\)"),
    ("--ca-file", lambda d: _big(d / "ca.pem", 2 * 1024 * 1024), "larger than 1 MiB"),
    ("--verify-keyring", lambda d: Path("/dev/zero"), "--verify-keyring /dev/zero: is a device"),
    ("--passphrase-file", lambda d: _fifo(d / "pass"), "--passphrase-file .*named pipe"),
])
def test_files_helm_reads_for_us_are_bounded(key, tmp_path, capsys, option, make, problem):
    """Checked before Helm runs: a FIFO would block it, /dev/zero or a huge file would make it read forever."""
    push = ["--push", "oci://127.0.0.1:9/charts"] if option == "--ca-file" else []
    argv = ["package", "--destination", str(tmp_path / "dist"), "--sign", "--key", key.name, "--keyring",
            str(key.secring), *push, option, str(make(tmp_path)), "--timeout", "20"]
    t0 = time.monotonic()
    assert cli.main(argv) == 2 and time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(problem, err), err


def test_a_password_line_without_end_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 100_000))
    assert cli.main(["package", "--push", "oci://127.0.0.1:9/charts", "--username", "u",
                     "--destination", str(tmp_path)]) == 2
    assert "the registry password on stdin: a line longer than 4,096 characters" in capsys.readouterr().err


def test_username_and_registry_config_exclude_each_other(tmp_path, capsys):
    assert cli.main(["package", "--push", "oci://127.0.0.1:9/charts", "--username", "u", "--registry-config",
                     str(tmp_path / "c.json"), "--destination", str(tmp_path)]) == 2
    assert "give one of them" in capsys.readouterr().err


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _big(path: Path, size: int) -> Path:
    path.write_bytes(b"#" * size)
    return path


@pytest.mark.parametrize("argv, problem", [
    (["package", "--sign"], "--sign needs --key NAME and --keyring"),
    (["package", "--push", "https://example.invalid/charts"], "is not of the form oci://HOST"),
    (["package", "--sign", "--key", "k", "--keyring", "/nonexistent/secring.gpg"], "signing keyring .* does not exist"),
])
def test_cli_bad_input_is_one_line(argv, problem, tmp_path, capsys):
    assert cli.main([*argv, "--destination", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert re.search(problem, err), err


# --- what a failed pull or login is reported as ------------------------------------------------------

def _failing_helm(tmp_path: Path, message: str) -> pkg.Helm:
    """A stand-in for helm (named so): prints MESSAGE on stderr and exits 1, as helm does on a failure."""
    script = tmp_path / "helm-stand-in"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' {json.dumps(message)} >&2\nexit 1\n")
    script.chmod(0o755)
    return pkg.Helm(str(script), (3, 18, 0))


@pytest.mark.parametrize("message, refused", [
    # Helm 3.18's refusal of a provenance layer quotes a digest; one with "401" in it is no refusal.
    ('Error: media type "application/vnd.cncf.helm.chart.provenance.v1.prov" is not allowed, found in '
     'descriptor with digest: "sha256:0a4011c9e7b0c0f11391b246691708dbdd5c705f364f50cb10ae60bc77214aef"', False),
    ("Error: failed to do request: Head \"https://127.0.0.1:34012/v2/charts/cogniverse/manifests/0.4.0\": "
     "connection refused", False),
    ('Error: failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized', True),
    ("Error: pull access denied: response status code 401", True),
    ("Error: basic credential not found", True),
])
def test_a_failed_pull_is_called_unauthorized_only_when_the_registry_said_so(tmp_path, message, refused):
    reg = pkg.Registry("oci://127.0.0.1:34012/charts")
    with pytest.raises(ToolkitError) as err:
        pkg.pull(_failing_helm(tmp_path, message), "oci://127.0.0.1:34012/charts/cogniverse", "0.4.0",
                 tmp_path / "pull", registry=reg, keyring=tmp_path / "pubring.gpg")
    assert ("(unauthorized): log in first" in str(err.value)) == refused, str(err.value)
    if not refused:
        assert message.splitlines()[-1] in str(err.value)  # Helm's own line, not a guess


def test_a_failed_login_names_wrong_credentials_only_on_a_refusal(tmp_path):
    reg = pkg.Registry("oci://127.0.0.1:34012/charts", "chart-publisher", "pw")
    with pytest.raises(ToolkitError, match=r"refused the login of user 'chart-publisher' \(401 unauthorized\)"):
        pkg.login(_failing_helm(tmp_path, "Error: login attempt to https://127.0.0.1:34012/v2/ failed with status: 401 Unauthorized"), reg)
    with pytest.raises(ToolkitError, match="logging in to 127.0.0.1:34012 failed: Error: .*tls: failed to verify"):
        pkg.login(_failing_helm(tmp_path, "Error: Get \"https://127.0.0.1:34012/v2/\": tls: failed to verify certificate"), reg)

