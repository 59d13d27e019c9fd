{{/*
Pod plumbing shared by the component templates (security contexts, scheduling, probes,
storage class). Naming, labels, images and addresses stay in _helpers.tpl.
Each takes (dict "ctx" $ "c" .Values.<component>).
*/}}

{{/* Top-level podSecurityContext with the component's keys replacing same-named ones. */}}
{{- define "cogniverse.pod.securityContext" -}}
{{- $sc := deepCopy (.ctx.Values.podSecurityContext | default dict) -}}
{{- range $k, $v := (.c.podSecurityContext | default dict) }}{{ $_ := set $sc $k $v }}{{ end -}}
{{- toYaml $sc -}}
{{- end -}}

{{/* Top-level containerSecurityContext with the component's keys replacing same-named ones. */}}
{{- define "cogniverse.container.securityContext" -}}
{{- $sc := deepCopy (.ctx.Values.containerSecurityContext | default dict) -}}
{{- range $k, $v := (.c.containerSecurityContext | default dict) }}{{ $_ := set $sc $k $v }}{{ end -}}
{{- toYaml $sc -}}
{{- end -}}

{{/* Pod template metadata of a service workload: (dict "ctx" $ "c" .Values.<component> "component" "vespa"). */}}
{{- define "cogniverse.pod.metadata" -}}
labels:
  {{- include "cogniverse.labels" (dict "ctx" .ctx "component" .component) | nindent 2 }}
  {{- with .c.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .c.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A component's data PVC, kept on uninstall: (dict "ctx" $ "component" "phoenix" "name" "phoenix-data"
"persistence" .Values.phoenix.persistence).
*/}}
{{- define "cogniverse.dataPvc" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ include "cogniverse.componentName" (dict "ctx" .ctx "component" .name) }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "cogniverse.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  annotations:
    # `helm uninstall` leaves this claim (and its data) in place.
    helm.sh/resource-policy: keep
    {{- with .persistence.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- include "cogniverse.pvcSpec" (dict "ctx" .ctx "persistence" .persistence) | nindent 2 }}
{{- end -}}

{{/* Pod spec fields every service pod shares: account, pull secrets, security, scheduling. */}}
{{- define "cogniverse.pod.common" -}}
serviceAccountName: {{ include "cogniverse.serviceAccountName" .ctx }}
automountServiceAccountToken: {{ .ctx.Values.serviceAccount.automountServiceAccountToken }}
{{- include "cogniverse.imagePullSecrets" .ctx }}
securityContext:
  {{- include "cogniverse.pod.securityContext" . | nindent 2 }}
{{- with .c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .c.affinity }}
affinity:
  {{- toYaml .c.affinity | nindent 2 }}
{{- else if .c.podAntiAffinity }}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "cogniverse.selectorLabels" (dict "ctx" .ctx "component" .component) | fromYaml)) }}
affinity:
  podAntiAffinity:
    {{- if eq .c.podAntiAffinity "hard" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      {{- list $term | toYaml | nindent 6 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          {{- toYaml $term | nindent 10 }}
    {{- end }}
{{- end }}
{{- end -}}

{{/*
What every service container has after its env list: envFrom of its existingSecret, its HTTP probes,
resources and securityContext. (dict "ctx" $ "c" .Values.<component> "port" "http" "probes" (list "readiness" "liveness"))
*/}}
{{- define "cogniverse.container.common" -}}
{{- with .c.existingSecret }}
envFrom:
  - secretRef:
      name: {{ . | quote }}
{{- end }}
{{- range .probes }}
{{ . }}Probe:
  {{- include "cogniverse.httpProbe" (dict "probe" (index $.c (printf "%sProbe" .)) "port" $.port) | nindent 2 }}
{{- end }}
resources:
  {{- toYaml .c.resources | nindent 2 }}
securityContext:
  {{- include "cogniverse.container.securityContext" . | nindent 2 }}
{{- end -}}

{{/* HTTP probe: (dict "probe" .Values.x.readinessProbe "port" "http"). */}}
{{- define "cogniverse.httpProbe" -}}
httpGet:
  path: {{ .probe.path }}
  port: {{ .port }}
{{- range $k := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" }}
{{- if hasKey $.probe $k }}
{{ $k }}: {{ index $.probe $k }}
{{- end }}
{{- end }}
{{- end -}}

{{/* storageClassName line for a data volume: the component's class, else global.storageClass; "-" = "". */}}
{{- define "cogniverse.storageClassName" -}}
{{- $class := .persistence.storageClass | default .ctx.Values.global.storageClass -}}
{{- if eq $class "-" }}
storageClassName: ""
{{- else if $class }}
storageClassName: {{ $class | quote }}
{{- end }}
{{- end -}}

{{/* Data PVC spec body: (dict "ctx" $ "persistence" .Values.x.persistence). */}}
{{- define "cogniverse.pvcSpec" -}}
accessModes:
  {{- toYaml .persistence.accessModes | nindent 2 }}
{{- include "cogniverse.storageClassName" . }}
resources:
  requests:
    storage: {{ .persistence.size | quote }}
{{- end -}}
