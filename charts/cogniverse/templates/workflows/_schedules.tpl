{{/*
The scheduled workflows: a CronWorkflow that runs the WorkflowTemplate of its name (cronRef), its
schedule fields and arguments from values, and the heavy-jobs semaphore and deadline they share.
*/}}

{{/*
activeDeadlineSeconds of a heavy scheduled workflow: (dict "ctx" $ "c" <cron values>). With the semaphore on,
the smaller of its own and workflows.heavyJobs.maxHoldSeconds. Argo starts this clock when the workflow
gets the semaphore and, at the deadline, fails every step still Pending (e.g. a pod that cannot be
scheduled), so no heavy workflow holds the semaphore longer than this.
*/}}
{{- define "cogniverse.workflows.heavyDeadline" -}}
{{- $h := .ctx.Values.workflows.heavyJobs -}}
{{- if and $h.semaphore $h.maxHoldSeconds -}}
{{- min (int64 .c.activeDeadlineSeconds) (int64 $h.maxHoldSeconds) -}}
{{- else -}}
{{- include "cogniverse.scalar" .c.activeDeadlineSeconds -}}
{{- end -}}
{{- end -}}

{{/* Heavy-job semaphore reference (workflow level) for scheduled workflows. */}}
{{- define "cogniverse.workflows.heavySemaphore" -}}
{{- if .Values.workflows.heavyJobs.semaphore }}
synchronization:
  semaphores:
    - configMapKeyRef:
        name: {{ include "cogniverse.componentName" (dict "ctx" . "component" "workflow-semaphores") }}
        key: heavy-jobs
{{- end }}
{{- end -}}

{{/* CronWorkflow schedule fields from a values block: (dict "ctx" $ "c" .Values.workflows.cronWorkflows.x "labels" (dict ...)) */}}
{{- define "cogniverse.workflows.cronSpec" -}}
schedules: {{- toYaml .c.schedules | nindent 2 }}
timezone: {{ .c.timezone | quote }}
suspend: {{ .c.suspend | default false }}
concurrencyPolicy: {{ .c.concurrencyPolicy }}
{{- if hasKey .c "startingDeadlineSeconds" }}
startingDeadlineSeconds: {{ include "cogniverse.scalar" .c.startingDeadlineSeconds }}
{{- end }}
{{- if hasKey .c "successfulJobsHistoryLimit" }}
successfulJobsHistoryLimit: {{ include "cogniverse.scalar" .c.successfulJobsHistoryLimit }}
{{- end }}
{{- if hasKey .c "failedJobsHistoryLimit" }}
failedJobsHistoryLimit: {{ include "cogniverse.scalar" .c.failedJobsHistoryLimit }}
{{- end }}
workflowMetadata:
  labels: {{- include "cogniverse.workflows.workflowLabels" . | nindent 4 }}
{{- end -}}

{{/* Fail rendering when a CronWorkflow needs the batch-optimization WorkflowTemplate and it is disabled. */}}
{{- define "cogniverse.workflows.requireBatchOptimization" -}}
{{- if not .ctx.Values.workflows.templates.batchOptimization.enabled -}}
{{- fail (printf "workflows.cronWorkflows.%s runs the batch-optimization WorkflowTemplate: set workflows.templates.batchOptimization.enabled=true or disable workflows.cronWorkflows.%s.enabled" .name .name) -}}
{{- end -}}
{{- end -}}

{{/*
A scheduled workflow is a WorkflowTemplate plus a CronWorkflow of the same name that runs it
(workflowTemplateRef), so Argo's `workflowRestrictions.templateReferencing: Strict|Secure` accepts its
runs: under those settings a run may set only a few spec fields itself (arguments, entrypoint,
activeDeadlineSeconds, ttlStrategy, podGC, workflowMetadata ...; Argo's ValidateUserOverrides), so
the steps, semaphore, onExit, service account, security context and volumes live in the template.
(dict "ctx" $ "c" <cron values> "name" "daily-backup" "type" "maintenance" "arguments" "<arguments YAML or empty>")
*/}}
{{- define "cogniverse.workflows.cronRef" -}}
{{ include "cogniverse.workflows.header" (dict "ctx" .ctx "kind" "CronWorkflow" "name" .name "type" .type "annotations" .annotations) }}
spec:
  {{- include "cogniverse.workflows.cronSpec" (dict "ctx" .ctx "c" .c "labels" (dict "workflow-type" .type)) | nindent 2 }}
  workflowSpec:
    workflowTemplateRef:
      name: {{ .name }}
    {{- with .arguments }}
    # The same values as the WorkflowTemplate's defaults: `argo submit --from cronwf/{{ $.name }} -p k=v` overrides them.
    arguments: {{- . | trim | nindent 6 }}
    {{- end }}
{{- end -}}

{{/* arguments.parameters of a scheduled workflow from its values: (dict "p" <parameters values> "names" (list ...)) */}}
{{- define "cogniverse.workflows.cronArguments" -}}
parameters:
  {{- range .names }}
  - name: {{ . }}
    value: {{ include "cogniverse.scalar" (index $.p .) | quote }}
  {{- end }}
{{- end -}}
