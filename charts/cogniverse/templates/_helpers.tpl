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

{{/*
The release's services: the one source of every Service name, address and port that other objects
use (the runtime's and every workflow step's environment, NOTES.txt, the NetworkPolicies, the helm
test Pod). A component is in it exactly when it is enabled.
(include "cogniverse.services" $ | fromYaml) ->
  components:                      # enabled components, keyed by name
    <component>:
      ports: [<container port>, ...]          # what its pods listen on (NetworkPolicy ingress)
      services:                               # its client-facing Services, keyed by purpose
        <purpose>: {name: <Service name>, port: <Service port>, url: http://<name>.<ns>.svc:<port>}
      otlp: <url>                             # only a tracing backend: its OTLP gRPC endpoint
  env: [{name: COGNIVERSE_RUNTIME_URL, value: <url>}, ...]   # address variables (docs/step-contract.md)
*/}}
{{- define "cogniverse.services" -}}
{{- $v := .Values -}}
{{- $c := dict -}}
{{- $env := list -}}
{{- if $v.runtime.enabled }}
{{- $http := include "cogniverse.service" (dict "ctx" . "component" "runtime" "port" $v.runtime.service.port) | fromYaml }}
{{- $_ := set $c "runtime" (dict "ports" (list (include "cogniverse.containerPort" (dict "ctx" . "component" "runtime" "port" "http") | int)) "services" (dict "http" $http)) }}
{{- $env = append $env (dict "name" "COGNIVERSE_RUNTIME_URL" "value" $http.url) }}
{{- end }}
{{- if $v.vespa.enabled }}
{{- $query := include "cogniverse.service" (dict "ctx" . "component" "vespa" "port" $v.vespa.service.queryPort) | fromYaml }}
{{- $config := include "cogniverse.service" (dict "ctx" . "component" "vespa-config" "port" $v.vespa.service.configPort) | fromYaml }}
{{- $ports := list (include "cogniverse.containerPort" (dict "ctx" . "component" "vespa" "port" "query") | int) (include "cogniverse.containerPort" (dict "ctx" . "component" "vespa" "port" "config") | int) }}
{{- $_ := set $c "vespa" (dict "ports" $ports "services" (dict "query" $query "config" $config)) }}
{{- $env = append $env (dict "name" "VESPA_URL" "value" $query.url) }}
{{- $env = append $env (dict "name" "VESPA_CONFIG_URL" "value" $config.url) }}
{{- end }}
{{- if $v.phoenix.enabled }}
{{- $ui := include "cogniverse.service" (dict "ctx" . "component" "phoenix" "port" $v.phoenix.service.uiPort) | fromYaml }}
{{- $otlp := include "cogniverse.service" (dict "ctx" . "component" "phoenix" "port" $v.phoenix.service.otlpPort) | fromYaml }}
{{- $ports := list (include "cogniverse.containerPort" (dict "ctx" . "component" "phoenix" "port" "http") | int) (include "cogniverse.containerPort" (dict "ctx" . "component" "phoenix" "port" "otlp") | int) }}
{{- $_ := set $c "phoenix" (dict "ports" $ports "services" (dict "ui" $ui "otlp" $otlp) "otlp" $otlp.url) }}
{{- $env = append $env (dict "name" "PHOENIX_URL" "value" $ui.url) }}
{{- $env = append $env (dict "name" "PHOENIX_OTLP_ENDPOINT" "value" $otlp.url) }}
{{- end }}
{{- if $v.llm.enabled }}
{{- $http := include "cogniverse.service" (dict "ctx" . "component" "llm" "port" $v.llm.service.port) | fromYaml }}
{{- $_ := set $c "llm" (dict "ports" (list (include "cogniverse.containerPort" (dict "ctx" . "component" "llm" "port" "http") | int)) "services" (dict "http" $http)) }}
{{- $env = append $env (dict "name" "LLM_URL" "value" $http.url) }}
{{- end }}
{{- dict "components" $c "env" $env | toYaml -}}
{{- end -}}

{{/*
A component's Service: (dict "ctx" $ "component" "vespa" "name" "vespa-config" "service" .Values.vespa.service
"ports" (list (dict "name" "http-config" "port" 19071 "targetPort" "config"))). name defaults to component.
*/}}
{{- define "cogniverse.serviceObject" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "cogniverse.componentName" (dict "ctx" .ctx "component" (.name | default .component)) }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "cogniverse.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  {{- with .service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .service.type }}
  selector:
    {{- include "cogniverse.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .targetPort }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* One client-facing Service port: (dict "ctx" $ "component" "vespa-config" "port" 19071) -> {name, port, url} */}}
{{- define "cogniverse.service" -}}
{{- $name := include "cogniverse.componentName" (dict "ctx" .ctx "component" .component) -}}
{{- dict "name" $name "port" .port "url" (printf "http://%s.%s.svc:%v" $name .ctx.Release.Namespace .port) | toYaml -}}
{{- end -}}

{{/*
The port a component's container listens on: (dict "ctx" $ "component" "vespa" "port" "query").
The images fix all but the runtime's (values: runtime.containerPort); the workloads, the headless
Service and the NetworkPolicies all read them here.
*/}}
{{- define "cogniverse.containerPort" -}}
{{- $ports := dict "runtime" (dict "http" .ctx.Values.runtime.containerPort) "vespa" (dict "query" 8080 "config" 19071) "phoenix" (dict "http" 6006 "otlp" 4317) "llm" (dict "http" 11434) -}}
{{- $port := index (index $ports .component | default dict) .port -}}
{{- if not $port }}{{ fail (printf "chart bug: no container port %q of component %q" .port .component) }}{{ end -}}
{{- $port -}}
{{- end -}}
