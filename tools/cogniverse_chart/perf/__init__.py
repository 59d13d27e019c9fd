"""The two hot paths of `validate` and `check`, written for speed rather than brevity.

Validation throughput is a product requirement (issue 12: at least kubeconform's, in one Python
process), and almost all of its time goes to two things, so each has a purpose-built implementation
that is checked against the reference one by the tests:

- `yaml_loader`: reading manifest streams. A Rust YAML parser (yaml_rs) takes every document where
  YAML 1.1 (what Helm and kubectl read) and YAML 1.2 agree, found by a two-step regex pre-check; the
  rest goes through PyYAML's libyaml with a tight constructor. The cyclic GC is paused while trees
  are built. Limits refuse hostile input (nesting, alias bombs, huge documents) without recursion.
  Reference: PyYAML's safe loader (tests/validate/test_validate_loader.py).
- `schema_compiler`: the strict JSON Schemas compiled into closures, once per (bundle, kind), instead
  of interpreting the schema for every object. Reference: jsonschema, which still explains every
  failure (tests/validate/test_validate.py).
"""
