{{/*
Phoenix's backup and restore steps (daily-backup.yaml, restore.yaml; docs/operations.md), all run by
files/phoenix-backup.py (a ConfigMap) with an argument list:
- Phoenix on SQLite in this release (enabled, persistent, phoenix.database.type sqlite): the Phoenix
  image's own python3, mounting Phoenix's data claim at /data: the image that wrote the database brings
  the SQLite version that reads it, and nothing but the claim is shared.
- Phoenix on PostgreSQL (in the chart or external): the PostgreSQL image's python3 runs pg_dump or
  pg_restore, with the connection Phoenix has (the same Secret, by secretKeyRef), in a pod labelled so
  the in-chart server's NetworkPolicy admits it.
Otherwise (Phoenix off or without a volume) they are ordinary runner steps (docs/step-contract.md).
*/}}

{{/* "true" when Phoenix keeps its data in SQLite on the chart's claim, else "". */}}
{{- define "cogniverse.workflows.phoenixOnSqlite" -}}
{{- if and (eq (include "cogniverse.phoenix.database" .) "sqlite") .Values.phoenix.persistence.enabled }}true{{ end -}}
{{- end -}}

{{/* "true" when Phoenix keeps its data in PostgreSQL (in the chart or external), else "". */}}
{{- define "cogniverse.workflows.phoenixOnPostgresql" -}}
{{- if has (include "cogniverse.phoenix.database" .) (list "inChart" "external") }}true{{ end -}}
{{- end -}}

{{/* Name of the ConfigMap holding files/phoenix-backup.py. */}}
{{- define "cogniverse.workflows.backupScriptsName" -}}
{{- include "cogniverse.componentName" (dict "ctx" . "component" "phoenix-backup") -}}
{{- end -}}

{{/*
A Phoenix backup/restore step: (dict "ctx" $ "step" "backup-phoenix" "params" (list ...) "outputs" (list ...)
"placement" "beside"|"alone" "when" "<Argo when>"). beside: the pod must run on the node of a Phoenix
pod (a ReadWriteOnce claim is shared only by pods of one node; SQLite's locks then work between them),
so the online backup reads the live database consistently while Phoenix runs. alone: the pod is not
scheduled while any Phoenix pod, even a terminating one, is on its node, so no writer is left when the
database is replaced.
*/}}
{{- define "cogniverse.workflows.phoenixStep" -}}
{{- $ctx := .ctx -}}
{{- if include "cogniverse.workflows.phoenixOnSqlite" $ctx -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "cogniverse.selectorLabels" (dict "ctx" $ctx "component" "phoenix") | fromYaml)) -}}
{{- $kind := ternary "podAffinity" "podAntiAffinity" (eq .placement "beside") -}}
{{- $affinity := dict $kind (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) -}}
{{- include "cogniverse.workflows.step" (dict "ctx" $ctx "step" .step "params" .params "outputs" .outputs "transient" true
    "image" $ctx.Values.phoenix.image "command" (list "/usr/bin/python3" "/opt/cogniverse/phoenix-backup.py")
    "mounts" (list "backups" "phoenix-data" "backup-scripts") "affinity" $affinity) }}
{{- else if include "cogniverse.workflows.phoenixOnPostgresql" $ctx -}}
{{- include "cogniverse.workflows.step" (dict "ctx" $ctx "step" .step "params" .params "outputs" .outputs "transient" true
    "image" $ctx.Values.phoenix.database.postgresql.image "command" (list "/usr/bin/python3" "/opt/cogniverse/phoenix-backup.py")
    "mounts" (list "backups" "backup-scripts") "env" (include "cogniverse.phoenix.databaseEnv" $ctx)
    "podLabels" (include "cogniverse.postgresql.clientLabels" $ctx)) }}
{{- else -}}
{{- include "cogniverse.workflows.step" (dict "ctx" $ctx "step" .step "params" .params "outputs" .outputs "transient" true "mounts" (list "backups")) }}
{{- end -}}
{{- end -}}

{{/* Workflow volumes of a workflow with Phoenix steps: backups, the script, Phoenix's claim when on SQLite. */}}
{{- define "cogniverse.workflows.backupVolumes" -}}
{{- $vols := list "backups" -}}
{{- if include "cogniverse.workflows.phoenixOnSqlite" . }}{{ $vols = concat $vols (list "phoenix-data" "backup-scripts") }}{{ end -}}
{{- if include "cogniverse.workflows.phoenixOnPostgresql" . }}{{ $vols = append $vols "backup-scripts" }}{{ end -}}
{{- toJson $vols -}}
{{- end -}}
