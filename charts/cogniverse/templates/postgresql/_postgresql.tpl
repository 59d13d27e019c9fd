{{/*
Phoenix's database (values phoenix.database; docs/operations.md). One place decides which database
Phoenix uses and how it connects; the Phoenix Deployment and its backup and restore steps both read it.
*/}}

{{/* "sqlite", "inChart" or "external"; "" when Phoenix is off. */}}
{{- define "cogniverse.phoenix.database" -}}
{{- $p := .Values.phoenix -}}
{{- if $p.enabled -}}
{{- if ne $p.database.type "postgresql" }}sqlite{{ else if $p.database.postgresql.inChart.enabled }}inChart{{ else }}external{{ end -}}
{{- end -}}
{{- end -}}

{{/* The Secret Phoenix connects with: the in-chart server's (existing or generated) or the external one's. */}}
{{- define "cogniverse.phoenix.databaseSecret" -}}
{{- $pg := .Values.phoenix.database.postgresql -}}
{{- if $pg.inChart.enabled -}}
{{- $pg.inChart.existingSecret | default (include "cogniverse.componentName" (dict "ctx" . "component" "postgresql")) -}}
{{- else -}}
{{- $pg.external.existingSecret -}}
{{- end -}}
{{- end -}}

{{/*
The environment that points Phoenix (and files/phoenix-backup.py, which reads the same variables) at
PostgreSQL, as a YAML list; empty on SQLite. Credentials only by secretKeyRef: never a value in a manifest.
In the chart: PHOENIX_POSTGRES_* (Phoenix URL-encodes the password itself, so an existingSecret's
password may hold any character). External: PHOENIX_SQL_DATABASE_URL from key url, or PHOENIX_POSTGRES_*
from keys host, user, password (port and database optional).
*/}}
{{- define "cogniverse.phoenix.databaseEnv" -}}
{{- $db := include "cogniverse.phoenix.database" . -}}
{{- $secret := include "cogniverse.phoenix.databaseSecret" . -}}
{{- $pg := .Values.phoenix.database.postgresql -}}
{{- $env := list -}}
{{- if eq $db "inChart" -}}
{{- $host := printf "%s.%s.svc" (include "cogniverse.componentName" (dict "ctx" . "component" "postgresql")) .Release.Namespace -}}
{{- $env = list (dict "name" "PHOENIX_POSTGRES_HOST" "value" $host) (dict "name" "PHOENIX_POSTGRES_PORT" "value" "5432")
    (dict "name" "PHOENIX_POSTGRES_USER" "value" $pg.inChart.user) (dict "name" "PHOENIX_POSTGRES_DB" "value" $pg.inChart.database)
    (dict "name" "PHOENIX_POSTGRES_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" $secret "key" "password"))) -}}
{{- else if and (eq $db "external") (eq $pg.external.secretFormat "url") -}}
{{- $env = list (dict "name" "PHOENIX_SQL_DATABASE_URL" "valueFrom" (dict "secretKeyRef" (dict "name" $secret "key" "url"))) -}}
{{- else if eq $db "external" -}}
{{- range $var, $key := dict "HOST" "host" "USER" "user" "PASSWORD" "password" "PORT" "port" "DB" "database" -}}
{{- $ref := dict "name" $secret "key" $key -}}
{{- if has $key (list "port" "database") }}{{ $_ := set $ref "optional" true }}{{ end -}}
{{- $env = append $env (dict "name" (printf "PHOENIX_POSTGRES_%s" $var) "valueFrom" (dict "secretKeyRef" $ref)) -}}
{{- end -}}
{{- end -}}
{{- with $env }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/*
Labels of the backup-phoenix and restore-phoenix pods on PostgreSQL: the in-chart server's NetworkPolicy
admits them (and Phoenix) only.
*/}}
{{- define "cogniverse.postgresql.clientLabels" -}}
{{- include "cogniverse.selectorLabels" (dict "ctx" . "component" "phoenix-database-client") -}}
{{- end -}}
