"""The maintainers' tools: what builds and checks the toolkit, never installed with it (the wheel holds
only cogniverse_chart). They use the toolkit; the toolkit never imports them.

- gobuild.py       Go helpers built from pinned modules, cached by version and source hash
- oracle.py        Argo's own validator (tools/argo-validate) as an oracle for lint
- examples.py      Argo's examples/ from its module zips: the corpus lint must agree with Argo on
- differential/    mutation testing of lint against the oracle
- guide/           the guide runner (docs/guide.md and the user's guide, checked and run)
- __main__.py      `python -m cogniverse_dev`: build every Go helper the tests need
"""
