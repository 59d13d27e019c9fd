{{/*
Building blocks of the Argo objects in this folder. Argo's own `{{ }}` expressions are emitted
as Helm string literals (e.g. {{ "{{inputs.parameters.tenant-id}}" }}) so Helm never evaluates them.
*/}}

{{/* ServiceAccount names: (dict "ctx" $ "purpose" "steps"|"tenantProvisioner") */}}
{{- define "cogniverse.workflows.serviceAccountName" -}}
{{- $sa := index .ctx.Values.workflows.serviceAccounts .purpose -}}
{{- $component := get (dict "steps" "workflow" "tenantProvisioner" "tenant-provisioner" "deadlineWatchdog" "deadline-watchdog" "restore" "workflow-restore") .purpose -}}
{{- $default := include "cogniverse.componentName" (dict "ctx" .ctx "component" $component) -}}
{{- if $sa.create -}}{{ default $default $sa.name }}{{- else -}}{{ required (printf "workflows.serviceAccounts.%s.name is required when create is false" .purpose) $sa.name }}{{- end -}}
{{- end -}}

{{/* Argo input-parameter reference, literal: (include "cogniverse.workflows.in" "tenant-id") -> {{inputs.parameters.tenant-id}} */}}
{{- define "cogniverse.workflows.in" -}}
{{- printf "{{inputs.parameters.%s}}" . -}}
{{- end -}}

{{/* Argo input parameter as a JSON string, for resource manifests: (include "cogniverse.workflows.inJson" "tenant-id") -> {{=toJson(inputs.parameters['tenant-id'])}}. Whatever the value holds (newlines, quotes, ': '), the manifest gets one quoted scalar. */}}
{{- define "cogniverse.workflows.inJson" -}}
{{- printf "{{=toJson(inputs.parameters['%s'])}}" . -}}
{{- end -}}

{{/* Tenant namespace as an Argo expression yielding a JSON string: "cogniverse-<tenant-id with '_' as '-'>". Only valid in a template with input tenant-id. */}}
{{- define "cogniverse.workflows.tenantNamespaceJson" -}}
{{- print "{{=toJson('cogniverse-' + sprig.replace('_', '-', inputs.parameters['tenant-id']))}}" -}}
{{- end -}}

{{/* retryStrategy of transient steps; exit code 2 (invalid input) is never retried. */}}
{{- define "cogniverse.workflows.retryStrategy" -}}
{{- with .Values.workflows.retry }}
retryStrategy:
  limit: {{ include "cogniverse.scalar" .limit }}
  retryPolicy: {{ .retryPolicy }}
  expression: 'lastRetry.exitCode != "2"'
  backoff:
    duration: {{ .backoff.duration | quote }}
    factor: {{ include "cogniverse.scalar" .backoff.factor }}
    maxDuration: {{ .backoff.maxDuration | quote }}
{{- end }}
{{- end -}}

{{/* Environment of every runner step: the address of every enabled service (cogniverse.services; docs/step-contract.md). */}}
{{- define "cogniverse.workflows.env" -}}
{{- $v := .ctx.Values -}}
env:
  - name: COGNIVERSE_OUTPUT_DIR
    value: /tmp/outputs
  - name: COGNIVERSE_WORKFLOW
    value: {{ "{{workflow.name}}" | quote }}
  - name: COGNIVERSE_STEP
    value: {{ .step | quote }}
{{- range (include "cogniverse.services" .ctx | fromYaml).env }}
  - name: {{ .name }}
    value: {{ .value | quote }}
{{- end }}
{{- /* Every step of every WorkflowTemplate and CronWorkflow carries these: bounded in total, not only per value. */ -}}
{{- $envBytes := len (toJson ($v.workflows.runner.extraEnv | default dict)) }}
{{- if gt $envBytes 65536 }}
{{- fail (printf "workflows.runner.extraEnv: %d bytes in all, more than 65536: every workflow step carries them (each WorkflowTemplate must stay under the API server's 1.5 MiB); put large values in a ConfigMap or Secret and use valueFrom" $envBytes) }}
{{- end }}
{{- with .env }}
  {{- . | nindent 2 }}
{{- end }}
{{- range $name, $value := $v.workflows.runner.extraEnv }}
  - name: {{ $name }}
    {{- if kindIs "map" $value }}
    valueFrom: {{- toYaml $value.valueFrom | nindent 6 }}
    {{- else }}
    value: {{ include "cogniverse.scalar" $value | quote }}
    {{- end }}
{{- end }}
{{- with $v.workflows.runner.existingSecret }}
envFrom:
  - secretRef:
      name: {{ . | quote }}
{{- end }}
{{- end -}}

{{/*
A runner step as an Argo container template:
(dict "ctx" $ "step" "ingest-videos" "params" (list "tenant-id" ...) "outputs" (list "x" ...)
      "transient" true "mounts" (list "data"|"backups"|"phoenix-data"|"backup-scripts")
      "sa" "<ServiceAccount, default the workflow's>")
Arguments are `<step> --<param> {{inputs.parameters.<param>}} ...`, one argv element each.
Optional "image" and "command" replace the runner's (workflows.steps.<step> still wins), "when" makes
the step conditional, "affinity" places its pod (templates/workflows/_backup.tpl).
*/}}
{{- define "cogniverse.workflows.step" -}}
{{- $ctx := .ctx -}}
{{- $w := $ctx.Values.workflows -}}
{{- $over := index $w.steps .step | default dict -}}
{{- $image := $over.image | default .image | default $w.runner.image -}}
- name: {{ .step }}
  {{- with .sa }}
  serviceAccountName: {{ . }}
  {{- end }}
  {{- with .params }}
  inputs:
    parameters:
      {{- range . }}
      - name: {{ . }}
      {{- end }}
  {{- end }}
  {{- with .outputs }}
  outputs:
    parameters:
      {{- range . }}
      - name: {{ . }}
        valueFrom:
          path: /tmp/outputs/{{ . }}
      {{- end }}
  {{- end }}
  {{- if .transient }}
  {{- include "cogniverse.workflows.retryStrategy" $ctx | trim | nindent 2 }}
  {{- end }}
  {{- with .deadline }}
  # Each attempt's pod fails after this (kubelet), e.g. when its image cannot be pulled.
  activeDeadlineSeconds: {{ include "cogniverse.scalar" . }}
  {{- end }}
  {{- with .affinity }}
  affinity: {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .podLabels }}
  metadata:
    labels: {{- . | nindent 6 }}
  {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    - name: outputs
      emptyDir: {}
  container:
    image: {{ include "cogniverse.image" (dict "ctx" $ctx "image" $image) }}
    imagePullPolicy: {{ $image.pullPolicy | default "IfNotPresent" }}
    # A failing step's last log lines (the runner's one-line reason) become the Argo node message.
    terminationMessagePolicy: FallbackToLogsOnError
    command: {{ $over.command | default .command | default $w.runner.command | toJson }}
    args:
      - {{ .step }}
      {{- range .params }}
      - --{{ . }}
      - {{ include "cogniverse.workflows.in" . | quote }}
      {{- end }}
    {{- include "cogniverse.workflows.env" (dict "ctx" $ctx "step" .step "env" .env) | nindent 4 }}
    resources: {{- $over.resources | default $w.resources | toYaml | nindent 6 }}
    securityContext: {{- toYaml $w.securityContext | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      - name: outputs
        mountPath: /tmp/outputs
      {{- if and (has "data" (.mounts | default list)) $w.volumes.videoData.existingClaim }}
      - name: video-data
        mountPath: /data
        readOnly: true
      {{- end }}
      {{- if has "backups" (.mounts | default list) }}
      - name: backups
        mountPath: /backups
      {{- end }}
      {{- if has "phoenix-data" (.mounts | default list) }}
      - name: phoenix-data
        mountPath: /data
      {{- end }}
      {{- if has "backup-scripts" (.mounts | default list) }}
      - name: backup-scripts
        mountPath: /opt/cogniverse
        readOnly: true
      {{- end }}
{{- end -}}

{{/* The exit handler's step: notify-completion gets the workflow status. (dict "ctx" $ "tenant" true|false) */}}
{{- define "cogniverse.workflows.notifyStep" -}}
{{- $params := list "workflow" "status" -}}
{{- if .tenant }}{{ $params = append $params "tenant-id" }}{{ end -}}
{{- include "cogniverse.workflows.step" (dict "ctx" .ctx "step" "notify-completion" "params" $params "transient" true "deadline" .ctx.Values.workflows.exitHandler.activeDeadlineSeconds) }}
{{- end -}}

{{/*
The exit-handler template (spec.onExit), the only place {{workflow.status}} is used.
(dict "tenant" "<Argo expression of the tenant id>"); without tenant, no --tenant-id is passed.
*/}}
{{- define "cogniverse.workflows.exitHandler" -}}
- name: exit-handler
  steps:
    - - name: notify-completion
        template: notify-completion
        arguments:
          parameters:
            - name: workflow
              value: {{ "{{workflow.name}}" | quote }}
            - name: status
              value: {{ "{{workflow.status}}" | quote }}
            {{- with .tenant }}
            - name: tenant-id
              value: {{ . | quote }}
            {{- end }}
{{- end -}}

{{/*
Workflow-wide spec fields shared by every WorkflowTemplate and CronWorkflow:
(dict "ctx" $ "name" "batch-optimization" "deadline" 3600 "sa" "steps" "labels" (dict ...) "volumes" (list "data"|"backups")
"noExitHandler" true)
*/}}
{{- define "cogniverse.workflows.specCommon" -}}
{{- $w := .ctx.Values.workflows -}}
serviceAccountName: {{ include "cogniverse.workflows.serviceAccountName" (dict "ctx" .ctx "purpose" (.sa | default "steps")) }}
activeDeadlineSeconds: {{ include "cogniverse.scalar" .deadline }}
{{- if not .noExitHandler }}
onExit: exit-handler
{{- end }}
ttlStrategy: {{- toYaml $w.ttl | nindent 2 }}
podGC:
  strategy: {{ $w.podGC.strategy }}
  {{- with $w.podGC.deleteDelayDuration }}
  deleteDelayDuration: {{ . | quote }}
  {{- end }}
securityContext: {{- toYaml $w.podSecurityContext | nindent 2 }}
{{- include "cogniverse.imagePullSecrets" .ctx }}
workflowMetadata:
  labels: {{- include "cogniverse.workflows.workflowLabels" . | nindent 4 }}
  {{- with $w.notifications.annotations }}
  annotations: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- $vols := .volumes | default list }}
{{- if or (and (has "data" $vols) $w.volumes.videoData.existingClaim) (has "backups" $vols) (has "phoenix-data" $vols) (has "backup-scripts" $vols) }}
volumes:
  {{- if and (has "data" $vols) $w.volumes.videoData.existingClaim }}
  - name: video-data
    persistentVolumeClaim:
      claimName: {{ $w.volumes.videoData.existingClaim }}
      readOnly: true
  {{- end }}
  {{- if has "backups" $vols }}
  # Always a real claim (templates/_checks.tpl refuses values without one): never an emptyDir.
  - name: backups
    persistentVolumeClaim:
      claimName: {{ include "cogniverse.workflows.backupsClaim" .ctx | quote }}
  {{- end }}
  {{- if has "phoenix-data" $vols }}
  - name: phoenix-data
    persistentVolumeClaim:
      claimName: {{ include "cogniverse.componentName" (dict "ctx" .ctx "component" "phoenix-data") | quote }}
  {{- end }}
  {{- if has "backup-scripts" $vols }}
  - name: backup-scripts
    configMap:
      name: {{ include "cogniverse.workflows.backupScriptsName" .ctx | quote }}
      defaultMode: 0444
  {{- end }}
{{- end }}
{{- end -}}
