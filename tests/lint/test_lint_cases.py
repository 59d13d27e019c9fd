"""Lint cases beyond the one-fixture-per-rule pairs: templateRef scoping, expression syntax,
`depends` parsing, time zones and DST in the overlap check, restricted defaults inheritance."""

from __future__ import annotations

import pytest

from cogniverse_chart.documents import parse_stream
from cogniverse_chart.lint import lint
from toolkit_utils import lint_rules as rules

LIB = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: lib}
spec:
  arguments: {parameters: [{name: tenant-id, value: acme}]}
  templates:
    - name: outer
      steps: [[{name: inner, template: inner}]]
    - name: inner
      container: {image: "alpine:3.20", command: [echo], args: ["{{workflow.parameters.tenant-id}}"]}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: caller}
spec:
  entrypoint: main
  arguments: {parameters: [ARGS]}
  templates:
    - name: main
      steps: [[{name: call, templateRef: {name: lib, template: outer}}]]
"""


def test_templateref_workflow_parameters_resolve_against_the_caller() -> None:
    bad = rules(LIB.replace("ARGS", "{name: other, value: x}"))
    [msg] = bad["argo/unknown-workflow-parameter"]
    assert "reads workflow parameter(s) tenant-id" in msg and "'lib'" in msg
    assert "argo/unknown-workflow-parameter" not in rules(LIB.replace("ARGS", "{name: tenant-id, value: x}"))


def test_expression_syntax_references_are_checked() -> None:
    text = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: expr}
spec:
  entrypoint: main
  templates:
    - name: main
      inputs: {parameters: [{name: tenant-id}]}
      container:
        image: "alpine:3.20"
        command: [echo]
        args: ["{{=inputs.parameters['tenant-id']}}", "{{= sprig.upper(inputs.parameters['tenantid']) }}"]
"""
    [msg] = rules(text)["argo/expression-reference"]
    assert msg.startswith("in an {{= expression}}: ") and "'tenantid'" in msg


def test_depends_expressions_with_results_and_operators() -> None:
    text = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: dag}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a-1, template: t}
          - {name: b, template: t}
          - {name: c, template: t, depends: "(a-1.Succeeded || b.Failed) && !b.Skipped"}
    - name: t
      container: {image: "alpine:3.20", command: ["true"]}
"""
    found = rules(text)
    assert "argo/dag-dependency" not in found and "argo/dag-cycle" not in found


def test_overlap_compares_instants_across_time_zones_and_dst() -> None:
    def cron(name: str, expr: str, tz: str) -> str:
        return f"""---
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {{name: {name}}}
spec:
  schedules: ["{expr}"]
  timezone: {tz}
  concurrencyPolicy: Forbid
  workflowSpec:
    entrypoint: m
    templates: [{{name: m, container: {{image: "alpine:3.20", command: ["true"]}}}}]
"""
    # 02:00 in New York is 07:00 UTC in winter and 06:00 UTC in summer: collides half the year
    found = rules(cron("ny", "0 2 * * *", "America/New_York") + cron("utc", "0 7 * * *", "UTC"))
    [msg] = found["policy/cron-overlap"]
    assert "same minute as CronWorkflow 'ny'" in msg and "times a year" in msg
    assert "policy/cron-overlap" not in rules(cron("ny", "0 2 * * *", "America/New_York") + cron("utc", "30 7 * * *", "UTC"))


def test_template_defaults_and_pod_security_context_count() -> None:
    text = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: defaults}
spec:
  entrypoint: main
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  templateDefaults:
    container:
      resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
  templates:
    - name: main
      container: {image: "alpine:3.20", command: ["true"]}
"""
    found = rules(text)
    assert "policy/resources" not in found and "policy/security-context" not in found


def test_steps_name_and_tasks_name_are_argo_variables() -> None:
    text = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: names}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - name: hello
            template: echo
            arguments: {parameters: [{name: who, value: "{{steps.name}}"}]}
    - name: echo
      inputs: {parameters: [{name: who}]}
      container: {image: "alpine:3.20", command: [echo], args: ["{{inputs.parameters.who}}"]}
"""
    found = rules(text)
    assert not {"argo/unknown-step", "argo/unknown-variable", "argo/ref-scope"} & set(found), found


def test_workflow_template_ref_arguments_are_checked_against_the_template() -> None:
    template = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: provision}
spec:
  entrypoint: main
  arguments: {parameters: [{name: tenant-id}, {name: cpu-quota, value: "20"}]}
  templates:
    - name: main
      container: {image: "alpine:3.20", command: [echo], args: ["{{workflow.parameters.tenant-id}}"]}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: provision-}
spec:
  workflowTemplateRef: {name: provision}
  arguments: {parameters: [ARGS]}
"""
    bad = rules(template.replace("ARGS", "{name: cpu-qouta, value: '10'}"))
    assert "required parameter(s) tenant-id: give them at submit time" in bad["argo/missing-argument"][0]
    [f] = [f for f in lint(parse_stream(template.replace("ARGS", "{name: x, value: y}"), "c.yaml"))
           if f.rule == "argo/missing-argument"]
    assert f.severity.value == "warning"  # a Workflow can still be given it by `argo submit -p`
    cron = template.replace("kind: Workflow\nmetadata: {generateName: provision-}\nspec:\n  workflowTemplateRef",
                            "kind: CronWorkflow\nmetadata: {name: nightly}\nspec:\n  schedules: ['0 1 * * *']\n"
                            "  concurrencyPolicy: Forbid\n  workflowSpec:\n   workflowTemplateRef")
    cron = cron.replace("  arguments: {parameters: [ARGS]}", "   arguments: {parameters: [{name: x, value: y}]}")
    [f] = [f for f in lint(parse_stream(cron, "c.yaml")) if f.rule == "argo/missing-argument" and f.kind == "CronWorkflow"]
    assert f.severity.value == "error" and "cannot be given them at submit time" in f.message
    assert "passes cpu-qouta" in bad["argo/unknown-argument"][0]
    good = rules(template.replace("ARGS", "{name: tenant-id, value: acme}"))
    assert "argo/missing-argument" not in good and "argo/unknown-argument" not in good


def test_argo_version_option_selects_the_rules(tmp_path, capsys) -> None:
    """`lint --argo-version`: the singular `schedule` is deprecated in 3.7 (a warning) and rejected by
    4.0 (an error naming the version); the default is the version versions.env pins."""
    from cogniverse_chart.cli import main
    from cogniverse_chart.lint import default_argo_version

    f = tmp_path / "cron.yaml"
    f.write_text("""
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
spec:
  schedule: "0 1 * * *"
  concurrencyPolicy: Forbid
  workflowSpec:
    entrypoint: m
    templates: [{name: m, container: {image: "alpine:3.20", command: ["true"]}}]
""")
    assert main(["lint", "--disable", "policy/", "--argo-version", "4.0", str(f)]) == 1
    out = capsys.readouterr().out
    assert "error[argo/cron-spec]" in out and "Argo 4.0 removed spec.schedule" in out
    assert main(["lint", "--disable", "policy/", "--argo-version", "3.7", str(f)]) == 0
    assert "warning[argo/cron-schedule]" in capsys.readouterr().out
    assert main(["--output", "json", "lint", "--disable", "policy/", str(f)]) == 0
    assert f'"argo_version": "{default_argo_version()}"' in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--argo-version", "5.1", str(f)])
    assert exc.value.code == 2
