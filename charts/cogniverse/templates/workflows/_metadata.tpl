{{/*
Names and metadata of the Argo objects in this folder: their header (apiVersion, kind, metadata),
labels, the labels of the Workflows and tenant objects they create, and the backups claim's name.
*/}}

{{/* Name of the backups PVC: existingClaim, else the one the chart creates. */}}
{{- define "cogniverse.workflows.backupsClaim" -}}
{{- .Values.workflows.volumes.backups.existingClaim | default (include "cogniverse.componentName" (dict "ctx" . "component" "workflow-backups")) -}}
{{- end -}}

{{/* apiVersion, kind and metadata of a WorkflowTemplate or CronWorkflow: (dict "ctx" $ "kind" "CronWorkflow" "name" "daily-backup" "type" "maintenance"); type is its workflow-type label; optional "annotations" (dict ...). */}}
{{- define "cogniverse.workflows.header" -}}
apiVersion: argoproj.io/v1alpha1
kind: {{ .kind }}
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "cogniverse.workflows.labels" (dict "ctx" .ctx "extra" (dict "workflow-type" .type)) | nindent 4 }}
  {{- with .annotations }}
  annotations: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* metadata.labels of every object in this folder: (dict "ctx" $ "extra" (dict ...)) */}}
{{- define "cogniverse.workflows.labels" -}}
{{ include "cogniverse.labels" (dict "ctx" .ctx "component" "workflows") }}
{{- range $k, $v := .extra }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* Labels of every Workflow a template or CronWorkflow starts: (dict "ctx" $ "labels" (dict ...)) */}}
{{- define "cogniverse.workflows.workflowLabels" -}}
app.kubernetes.io/part-of: cogniverse
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- range $k, $v := .labels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* Labels of every object tenant-provisioning creates (root context); only valid in a template with input tenant-id. cogniverse.dev/release: the release's own objects (provisioner-admission.yaml). */}}
{{- define "cogniverse.workflows.tenantLabels" -}}
app.kubernetes.io/part-of: cogniverse
app.kubernetes.io/managed-by: cogniverse-tenant-provisioning
cogniverse.dev/tenant: {{ include "cogniverse.workflows.inJson" "tenant-id" }}
cogniverse.dev/release: {{ include "cogniverse.releaseId" . | quote }}
{{- end -}}
