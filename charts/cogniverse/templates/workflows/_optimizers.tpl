{{/*
The optimizer catalogue (files/optimizers.yaml) and the arguments of a step that runs one optimizer
through batch-optimization's reusable `optimize` template.
*/}}

{{/* Arguments of a step calling batch-optimization's reusable `optimize` template. (dict "params" map "tenant" "..." "category" "..." "type" "..." "synthetic" "true") Values may be Argo expressions. */}}
{{- define "cogniverse.workflows.optimizeArgs" -}}
parameters:
  - name: tenant-id
    value: {{ .tenant | quote }}
  - name: optimizer-category
    value: {{ .category | quote }}
  - name: optimizer-type
    value: {{ .type | quote }}
  {{- range list "dataset-name" "profiles" "max-iterations" "learning-rate" "improvement-threshold" }}
  - name: {{ . }}
    value: {{ index $.params . | quote }}
  {{- end }}
  - name: use-synthetic-data
    value: {{ .synthetic | quote }}
{{- end -}}

{{/* The optimizer catalogue {category: [type, ...]}, as YAML: its one source is files/optimizers.yaml. */}}
{{- define "cogniverse.workflows.optimizers" -}}
{{- .Files.Get "files/optimizers.yaml" | required "chart bug: files/optimizers.yaml (the optimizer catalogue) is missing" -}}
{{- end -}}

{{/* Every optimizer type of a catalogue, categories in name order, as a JSON list. */}}
{{- define "cogniverse.workflows.optimizerTypes" -}}
{{- $types := list -}}
{{- range $cat := keys . | sortAlpha }}{{ $types = concat $types (index $ $cat) }}{{ end -}}
{{- toJson $types -}}
{{- end -}}

{{/* A catalogue as text: "dspy: GEPA, Bootstrap; routing: modality, ..." */}}
{{- define "cogniverse.workflows.optimizerListing" -}}
{{- $parts := list -}}
{{- range $cat := keys . | sortAlpha }}{{ $parts = append $parts (printf "%s: %s" $cat (join ", " (index $ $cat))) }}{{ end -}}
{{- join "; " $parts -}}
{{- end -}}

{{/* Fail unless type is an optimizer of category: (dict "catalogue" map "category" "dspy" "type" "GEPA" "where" "<values path>") */}}
{{- define "cogniverse.workflows.checkOptimizer" -}}
{{- $types := index .catalogue (toString .category) | default list -}}
{{- if not (has (toString .type) $types) -}}
{{- fail (printf "%s: optimizer-type %v is not a %v optimizer; the catalogue has %s (charts/cogniverse/files/optimizers.yaml)" .where .type .category (include "cogniverse.workflows.optimizerListing" .catalogue)) -}}
{{- end -}}
{{- end -}}
