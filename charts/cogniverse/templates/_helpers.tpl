{{/*
Naming, labels, images and service addresses. Nothing else belongs here:
component logic lives in the component's own templates.
*/}}

{{/* Chart name, overridable. */}}
{{- define "cogniverse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
A name cut to a DNS label (63 characters) that stays distinct: a longer name keeps its first 54
characters and gets "-" plus 8 hex digits of its SHA-256, so two long names that share a prefix
never become the same name (a plain `trunc 63` made them equal).
*/}}
{{- define "cogniverse.dnsLabel" -}}
{{- if le (len .) 63 -}}
{{- . -}}
{{- else -}}
{{- printf "%s-%s" (trunc 54 . | trimSuffix "-") (sha256sum . | trunc 8) -}}
{{- end -}}
{{- end -}}

{{/* Release-scoped base name: every object name derives from it. */}}
{{- define "cogniverse.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- include "cogniverse.dnsLabel" .Release.Name -}}
{{- else -}}
{{- include "cogniverse.dnsLabel" (printf "%s-%s" .Release.Name $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's objects: (dict "ctx" $ "component" "vespa") -> <fullname>-vespa */}}
{{- define "cogniverse.componentName" -}}
{{- include "cogniverse.dnsLabel" (printf "%s-%s" (include "cogniverse.fullname" .ctx) .component) -}}
{{- end -}}

{{/*
Name of a cluster-scoped object of a component: <release namespace>.<component name>. The dot cannot
occur in either part, so releases in different namespaces never share a name (with "-", namespace
a-b and fullname c met namespace a and fullname b-c); a DNS subdomain, at most 127 characters.
*/}}
{{- define "cogniverse.clusterName" -}}
{{- printf "%s.%s" .ctx.Release.Namespace (include "cogniverse.componentName" .) -}}
{{- end -}}

{{/*
The release's identity on the objects its tenant provisioner writes (label cogniverse.dev/release):
<release namespace>.<fullname>. Every release's admission policy requires its own value on what its
provisioner writes, so no release can write, or take over, another's objects.
Longer than a label value (63): the first 46 characters, "-" and 16 hex digits (64 bits) of its SHA-256,
so a values author cannot search out another release's id (8 hex digits, 32 bits, could be; attack21d
#13). Releases installed before with the 8-hex id (first 54, "-", 8 hex) keep it: their tenants carry it.
An upgrade finds it in the release's own provisioner policy (lookup) and keeps it only when it is exactly
that older id of this very release, so nothing read from the cluster becomes the id. The two forms never
meet: the ninth character from the end is "-" in the old form and a hex digit in the new one.
*/}}
{{- define "cogniverse.releaseId" -}}
{{- $full := printf "%s.%s" .Release.Namespace (include "cogniverse.fullname" .) -}}
{{- if le (len $full) 63 -}}
{{- $full -}}
{{- else -}}
{{- $id := printf "%s-%s" (trunc 46 $full | trimSuffix "-") (sha256sum $full | trunc 16) -}}
{{- $old := printf "%s-%s" (trunc 54 $full | trimSuffix "-") (sha256sum $full | trunc 8) -}}
{{- if .Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy" -}}
{{- $policy := lookup "admissionregistration.k8s.io/v1" "ValidatingAdmissionPolicy" "" (include "cogniverse.clusterName" (dict "ctx" . "component" "tenant-provisioner")) -}}
{{- range (dig "spec" "variables" (list) $policy) -}}
{{- if and (kindIs "map" .) (eq (get . "name") "releaseId") (eq (get . "expression") (toJson $old)) -}}
{{- $id = $old -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $id -}}
{{- end -}}
{{- end -}}

{{/*
A scalar value as text, an integral number as an integer: values files give Helm float64 numbers,
which `toString` and `{{ . }}` print as 1e+06 from a million on (an Argo duration or a Kubernetes int
field then fails to parse). (include "cogniverse.scalar" 1000000) -> 1000000; strings and booleans as is.
*/}}
{{- define "cogniverse.scalar" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) (lt . 9e18) (gt . -9e18) -}}
{{- printf "%d" (int64 .) -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
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
{{- $ns := .Release.Namespace -}}
{{- $ports := include "cogniverse.containerPorts" . | fromYaml -}}
{{- $c := dict -}}
{{- $env := list -}}
{{- $want := list -}}
{{- if $v.runtime.enabled }}{{ $want = append $want (list "runtime" "runtime" "http" $v.runtime.service.port "COGNIVERSE_RUNTIME_URL") }}{{ end -}}
{{- if $v.vespa.enabled }}
{{- $want = append $want (list "vespa" "vespa" "http-query" $v.vespa.service.queryPort "VESPA_URL") -}}
{{- $want = append $want (list "vespa" "vespa-config" "http-config" $v.vespa.service.configPort "VESPA_CONFIG_URL") -}}
{{- end -}}
{{- if $v.phoenix.enabled }}
{{- $want = append $want (list "phoenix" "phoenix" "http" $v.phoenix.service.uiPort "PHOENIX_URL") -}}
{{- $want = append $want (list "phoenix" "phoenix" "grpc-otlp" $v.phoenix.service.otlpPort "PHOENIX_OTLP_ENDPOINT") -}}
{{- end -}}
{{- if $v.llm.enabled }}{{ $want = append $want (list "llm" "llm" "http" $v.llm.service.port "LLM_URL") }}{{ end -}}
{{- range $want }}
{{- $component := index . 0 }}{{ $purpose := index . 2 }}{{ $port := index . 3 }}
{{- $name := include "cogniverse.componentName" (dict "ctx" $ "component" (index . 1)) }}
{{- $url := printf "http://%s.%s.svc:%v" $name $ns $port }}
{{- $entry := get $c $component | default (dict "ports" list "services" dict) }}
{{- if not $entry.ports }}
{{- range index $ports $component }}{{ $_ := set $entry "ports" (append $entry.ports .port) }}{{ end }}
{{- end }}
{{- $_ := set $entry.services $purpose (dict "name" $name "port" $port "url" $url) }}
{{- if eq $purpose "grpc-otlp" }}{{ $_ := set $entry "otlp" $url }}{{ end }}
{{- $_ := set $c $component $entry }}
{{- $env = append $env (dict "name" (index . 4) "value" $url) }}
{{- end }}
{{- dict "components" $c "env" $env | toYaml -}}
{{- end -}}

{{/*
A component's Service: (dict "ctx" $ "component" "vespa" "name" "vespa-config" "service" .Values.vespa.service
"ports" (list (dict "name" "http-config" "port" 19071))). name defaults to component; each port targets the
container port of its own name (cogniverse.containerPorts).
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
      targetPort: {{ .name }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/*
The ports the components' containers listen on, {component: [{name, port}, ...]}. The images fix all but the
runtime's (values: runtime.containerPort); the workloads, the headless Service, the servers' own port
settings and the NetworkPolicies all read them here. A port has one name everywhere, its name here: the
container port, the Service port (and its targetPort), and the key of cogniverse.services (docs/ports.md).
*/}}
{{- define "cogniverse.containerPorts" -}}
runtime: [{name: http, port: {{ .Values.runtime.containerPort }}}]
vespa: [{name: http-query, port: 8080}, {name: http-config, port: 19071}]
phoenix: [{name: http, port: 6006}, {name: grpc-otlp, port: 4317}]
llm: [{name: http, port: 11434}]
{{- end -}}

{{/* A container's ports list, from them: (dict "ctx" $ "component" "phoenix") */}}
{{- define "cogniverse.containerPortList" -}}
{{- range index (include "cogniverse.containerPorts" .ctx | fromYaml) .component }}
- name: {{ .name }}
  containerPort: {{ .port }}
  protocol: TCP
{{- end }}
{{- end -}}

{{/* One of them: (dict "ctx" $ "component" "vespa" "port" "http-query") -> 8080 */}}
{{- define "cogniverse.containerPort" -}}
{{- $port := 0 -}}
{{- range index (include "cogniverse.containerPorts" .ctx | fromYaml) .component | default list }}
{{- if eq .name $.port }}{{ $port = .port }}{{ end }}
{{- end -}}
{{- if not $port }}{{ fail (printf "chart bug: no container port %q of component %q" .port .component) }}{{ end -}}
{{- $port -}}
{{- end -}}
