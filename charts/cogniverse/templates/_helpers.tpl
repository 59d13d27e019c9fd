{{/*
Naming, labels, images and service addresses. Nothing else belongs here:
component logic lives in the component's own templates.
*/}}

{{/* Chart name, overridable. */}}
{{- define "cogniverse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name: every object name derives from it. */}}
{{- define "cogniverse.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's objects: (dict "ctx" $ "component" "vespa") -> <fullname>-vespa */}}
{{- define "cogniverse.componentName" -}}
{{- printf "%s-%s" (include "cogniverse.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cogniverse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: (dict "ctx" $ "component" "vespa"). Never change across upgrades. */}}
{{- define "cogniverse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cogniverse.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* Common labels: (dict "ctx" $ "component" "vespa"); component may be empty. */}}
{{- define "cogniverse.labels" -}}
helm.sh/chart: {{ include "cogniverse.chart" .ctx }}
{{ include "cogniverse.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: cogniverse
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Image reference: (dict "ctx" $ "image" .Values.vespa.image).
global.imageRegistry prefixes repositories; a digest wins over the tag; the tag defaults to appVersion.
*/}}
{{- define "cogniverse.image" -}}
{{- $registry := .image.registry | default .ctx.Values.global.imageRegistry -}}
{{- $repo := .image.repository -}}
{{- if $registry -}}{{- $repo = printf "%s/%s" $registry $repo -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.image.tag | default .ctx.Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets block from global.imagePullSecrets (list of names). */}}
{{- define "cogniverse.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* ServiceAccount used by the Cogniverse service pods. */}}
{{- define "cogniverse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cogniverse.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* In-cluster service addresses, derived from the release (never hard-coded). */}}
{{- define "cogniverse.svcHost" -}}
{{- printf "%s.%s.svc" (include "cogniverse.componentName" (dict "ctx" .ctx "component" .component)) .ctx.Release.Namespace -}}
{{- end -}}

{{- define "cogniverse.runtime.url" -}}
{{- printf "http://%s:%v" (include "cogniverse.svcHost" (dict "ctx" . "component" "runtime")) .Values.runtime.service.port -}}
{{- end -}}

{{- define "cogniverse.vespa.queryUrl" -}}
{{- printf "http://%s:%v" (include "cogniverse.svcHost" (dict "ctx" . "component" "vespa")) .Values.vespa.service.queryPort -}}
{{- end -}}

{{- define "cogniverse.vespa.configUrl" -}}
{{- printf "http://%s:%v" (include "cogniverse.svcHost" (dict "ctx" . "component" "vespa-config")) .Values.vespa.service.configPort -}}
{{- end -}}

{{- define "cogniverse.phoenix.url" -}}
{{- printf "http://%s:%v" (include "cogniverse.svcHost" (dict "ctx" . "component" "phoenix")) .Values.phoenix.service.uiPort -}}
{{- end -}}

{{- define "cogniverse.phoenix.otlpEndpoint" -}}
{{- printf "http://%s:%v" (include "cogniverse.svcHost" (dict "ctx" . "component" "phoenix")) .Values.phoenix.service.otlpPort -}}
{{- end -}}

{{- define "cogniverse.llm.url" -}}
{{- printf "http://%s:%v" (include "cogniverse.svcHost" (dict "ctx" . "component" "llm")) .Values.llm.service.port -}}
{{- end -}}
