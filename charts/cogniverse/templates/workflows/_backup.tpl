{{/*
Phoenix's backup and restore steps (daily-backup.yaml, restore.yaml; docs/operations.md).
With Phoenix on SQLite in this release (enabled, persistent, no PHOENIX_SQL_DATABASE_URL), the
steps run the Phoenix image's own python3 with files/phoenix-backup.py (a ConfigMap), mounting
Phoenix's data claim at /data: the image that wrote the database brings the SQLite version that
reads it, and nothing but the claim is shared. Otherwise they are ordinary runner steps
(docs/step-contract.md: a real runtime runs pg_dump/pg_restore against PostgreSQL).
*/}}

{{/* "true" when Phoenix keeps its data in SQLite on the chart's claim, else "". */}}
{{- define "cogniverse.workflows.phoenixOnSqlite" -}}
{{- $c := .Values.phoenix -}}
{{- $external := false -}}
{{- range $c.extraEnv }}{{ if eq (toString .name) "PHOENIX_SQL_DATABASE_URL" }}{{ $external = true }}{{ end }}{{ end -}}
{{- if and $c.enabled $c.persistence.enabled (not $external) }}true{{ end -}}
{{- end -}}

{{/* Name of the ConfigMap holding files/phoenix-backup.py. */}}
{{- define "cogniverse.workflows.backupScriptsName" -}}
{{- include "cogniverse.componentName" (dict "ctx" . "component" "phoenix-backup") -}}
{{- end -}}

{{/* The workflow volumes of the Phoenix steps: Phoenix's data claim and the script. */}}
{{- define "cogniverse.workflows.phoenixVolumes" -}}
- name: phoenix-data
  persistentVolumeClaim:
    claimName: {{ include "cogniverse.componentName" (dict "ctx" . "component" "phoenix-data") | quote }}
- name: backup-scripts
  configMap:
    name: {{ include "cogniverse.workflows.backupScriptsName" . | quote }}
    defaultMode: 0444
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
{{- else -}}
{{- include "cogniverse.workflows.step" (dict "ctx" $ctx "step" .step "params" .params "outputs" .outputs "transient" true "mounts" (list "backups")) }}
{{- end -}}
{{- end -}}

{{/* Workflow volumes of a workflow with Phoenix steps: (list "backups") plus Phoenix's when on SQLite. */}}
{{- define "cogniverse.workflows.backupVolumes" -}}
{{- $vols := list "backups" -}}
{{- if include "cogniverse.workflows.phoenixOnSqlite" . }}{{ $vols = append $vols "phoenix-data" }}{{ end -}}
{{- toJson $vols -}}
{{- end -}}
