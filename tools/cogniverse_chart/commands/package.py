"""`package`: package the chart at its Chart.yaml version, sign and verify it, and push it to an OCI registry."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ToolkitError
from ..helm import find_helm
from ..io_limits import Deadline, read_line
from .options import add_chart_arg, add_timeout_arg, chart_of


def register(sub: argparse._SubParsersAction) -> None:
    from ..package import DEFAULT_TIMEOUT

    p = sub.add_parser("package", help="package, sign (--sign) and push (--push oci://HOST/PATH) the chart")
    add_chart_arg(p)
    p.add_argument("--destination", "-d", type=Path, default=Path("."), help="where the .tgz goes (default: .)")
    p.add_argument("--helm", type=int, choices=[3, 4], help="Helm major version to use (default: any found)")
    p.add_argument("--sign", action="store_true", help="sign with --key from --keyring (writes .tgz.prov)")
    p.add_argument("--key", help="name or email of the signing key")
    p.add_argument("--keyring", type=Path, help="legacy GnuPG secret keyring (gpg --export-secret-keys)")
    p.add_argument("--passphrase-file", type=Path, help="file holding the key's passphrase")
    p.add_argument("--verify-keyring", type=Path, help="public keyring to verify with (default: --keyring)")
    p.add_argument("--push", metavar="oci://HOST/PATH", help="push the signed package there")
    p.add_argument("--username", help="registry user; the password is read from stdin, and the login lasts for "
                                      "this push only (its credentials go to a temporary file, removed after)")
    p.add_argument("--ca-file", type=Path, help="CA bundle of the registry's TLS certificate")
    p.add_argument("--registry-config", type=Path,
                   help="Helm's registry credentials file of an earlier `helm registry login` (not with --username)")
    add_timeout_arg(p, DEFAULT_TIMEOUT)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import package as pkg

    signing = None
    if args.sign:
        if not args.key or not args.keyring:
            raise ToolkitError("--sign needs --key NAME and --keyring SECRING (a legacy secret keyring)")
        signing = pkg.Signing(args.key, args.keyring, args.passphrase_file)
    deadline = Deadline(args.timeout)
    registry = None
    if args.push:
        pkg.parse_oci(args.push)
        if args.username and args.registry_config:
            raise ToolkitError("--username logs in for this push only (credentials in a temporary file, removed "
                               "after); --registry-config uses an earlier `helm registry login`: give one of them")
        password = read_line(sys.stdin, "the registry password on stdin") if args.username else None
        registry = pkg.Registry(args.push, args.username, password, args.ca_file, args.registry_config)
    helm = find_helm(args.helm)
    if args.destination.exists() and not args.destination.is_dir():  # `-d /dev/null` said "File exists" (E35)
        raise ToolkitError(f"--destination {args.destination}: not a directory; name the folder the .tgz goes to")
    result = pkg.run_pipeline(helm, args.destination, chart=chart_of(args), signing=signing,
                              verify_keyring=args.verify_keyring, registry=registry, deadline=deadline)
    out = {"package": str(result.package), "version": result.version, "helm": result.helm,
           "signed": bool(signing), "pushed": result.ref, "seconds": {k: round(v, 3) for k, v in result.seconds.items()}}
    if args.output == "json":
        print(json.dumps(out, indent=2))
    else:
        steps = ", ".join(f"{k} {v:.2f}s" for k, v in result.seconds.items())
        print(f"{result.package} ({result.helm}{', signed' if signing else ''}; {steps})")
        if result.ref:
            print(f"pushed {result.ref}")
    return 0
