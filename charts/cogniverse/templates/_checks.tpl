{{/*
Cross-field rules on values that JSON Schema cannot express. Each either renders nothing or fails
the render with one line naming the key, what is wrong and what to do. Called once, from
templates/values-checks.yaml, so `helm template`, `helm install` and `helm upgrade` all run them.
*/}}

{{/* A Kubernetes quantity as a plain decimal string in base units ("500m" -> "0.5", "2Gi" -> "2147483648"). */}}
{{- define "cogniverse.quantity.value" -}}
{{- $q := toString . -}}
{{- $num := regexFind "^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)" $q | trimPrefix "+" -}}
{{- $suffix := trimPrefix $num (trimPrefix "+" $q) -}}
{{- $mult := dict "" 1.0 "m" 0.001 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- if hasKey $mult $suffix -}}
{{- mulf (float64 $num) (get $mult $suffix) -}}
{{- else if regexMatch "^[eE][+-]?[0-9]+$" $suffix -}}
{{- mulf (float64 $num) (float64 (printf "1%s" $suffix)) -}}
{{- else -}}
{{- fail (printf "cannot read the quantity %q" $q) -}}
{{- end -}}
{{- end -}}

{{/* Limits not below requests: (dict "key" "runtime.resources" "r" .Values.runtime.resources) */}}
{{- define "cogniverse.check.resources" -}}
{{- $r := .r | default dict -}}
{{- $limits := $r.limits | default dict -}}
{{- range $name, $req := ($r.requests | default dict) -}}
{{- if hasKey $limits $name -}}
{{- $lim := get $limits $name -}}
{{- if lt (float64 (include "cogniverse.quantity.value" $lim)) (float64 (include "cogniverse.quantity.value" $req)) -}}
{{- fail (printf "%s.limits.%s (%v) is below %s.requests.%s (%v): Kubernetes refuses a limit below its request; raise the limit or lower the request" $.key $name $lim $.key $name $req) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* One cron field as a JSON list of the values it selects: (dict "field" "1-5/2" "min" 1 "max" 12 "names" (dict "jan" 1 ...)) */}}
{{- define "cogniverse.cron.values" -}}
{{- $out := list -}}
{{- range $part := splitList "," .field -}}
{{- $step := 1 -}}
{{- $range := $part -}}
{{- if contains "/" $part -}}
{{- $range = first (splitList "/" $part) -}}
{{- $step = atoi (last (splitList "/" $part)) -}}
{{- end -}}
{{- $lo := $.min -}}
{{- $hi := $.max -}}
{{- if not (or (eq $range "*") (eq $range "?")) -}}
{{- $ends := splitList "-" $range -}}
{{- $lo = get $.names (lower (first $ends)) | default (atoi (first $ends)) -}}
{{- if gt (len $ends) 1 -}}
{{- $hi = get $.names (lower (last $ends)) | default (atoi (last $ends)) -}}
{{- else if not (contains "/" $part) -}}
{{- $hi = $lo -}}
{{- end -}}
{{- end -}}
{{- range $v := untilStep (int $lo) (int (add $hi 1)) (int (max $step 1)) -}}
{{- $out = append $out $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
A schedule that can never fire (30 February, 31 April and June...): (dict "key" "workflows.cronWorkflows.x.schedules[0]" "expr" "0 2 30 2 *").
robfig/cron (what Argo uses) fires when either day field matches once both are restricted, so only a
restricted day of month with an unrestricted day of week can be impossible.
*/}}
{{- define "cogniverse.check.cron" -}}
{{- $f := regexSplit "\\s+" (trim .expr) -1 -}}
{{- if eq (len $f) 5 -}}
{{- $dom := index $f 2 -}}
{{- $dow := index $f 4 -}}
{{- if and (or (eq $dow "*") (eq $dow "?")) (not (or (eq $dom "*") (eq $dom "?"))) -}}
{{- $monthNames := dict "jan" 1 "feb" 2 "mar" 3 "apr" 4 "may" 5 "jun" 6 "jul" 7 "aug" 8 "sep" 9 "oct" 10 "nov" 11 "dec" 12 -}}
{{- $days := include "cogniverse.cron.values" (dict "field" $dom "min" 1 "max" 31 "names" dict) | fromJsonArray -}}
{{- $months := include "cogniverse.cron.values" (dict "field" (index $f 3) "min" 1 "max" 12 "names" $monthNames) | fromJsonArray -}}
{{- $monthLength := list 31 29 31 30 31 30 31 31 30 31 30 31 -}}
{{- $fires := false -}}
{{- range $m := $months -}}
{{- range $d := $days -}}
{{- if and (ge (int $m) 1) (le (int $m) 12) (le (int $d) (index $monthLength (sub (int $m) 1))) -}}
{{- $fires = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $fires -}}
{{- fail (printf "%s %q never fires: no month it names has day-of-month %s (like 30 February or 31 April); choose a day every chosen month has" .key .expr $dom) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* phoenix.database: one PostgreSQL (in the chart or external, by a Secret), and the database never set twice. */}}
{{- define "cogniverse.check.phoenixDatabase" -}}
{{- $d := .Values.phoenix.database -}}
{{- $in := $d.postgresql.inChart -}}
{{- $ext := $d.postgresql.external -}}
{{- $k := "phoenix.database.postgresql" -}}
{{- if ne $d.type "postgresql" -}}
{{- if or $in.enabled $ext.enabled -}}
{{- fail (printf "%s.%s.enabled is true but phoenix.database.type is %q: set phoenix.database.type=postgresql to use it, or turn it off" $k (ternary "inChart" "external" $in.enabled) $d.type) -}}
{{- end -}}
{{- else -}}
{{- if and $in.enabled $ext.enabled -}}
{{- fail (printf "%s: inChart.enabled and external.enabled are both true; Phoenix uses one database: keep one" $k) -}}
{{- end -}}
{{- if not (or $in.enabled $ext.enabled) -}}
{{- fail (printf "phoenix.database.type is postgresql but neither %s.inChart.enabled nor %s.external.enabled is true: enable one (in-chart PostgreSQL, or an external server by existingSecret)" $k $k) -}}
{{- end -}}
{{- if $in.enabled -}}
{{- include "cogniverse.check.resources" (dict "key" (printf "%s.inChart.resources" $k) "r" $in.resources) -}}
{{- if hasPrefix "pg_" (toString $in.user) -}}{{/* initdb refuses it: the server would never start */}}
{{- fail (printf "%s.inChart.user %q: PostgreSQL reserves role names starting with pg_; choose another (e.g. phoenix)" $k (toString $in.user)) -}}
{{- end -}}
{{- if eq (toString $in.user) "postgres" -}}{{/* the server's own superuser: Phoenix's role is no superuser */}}
{{- fail (printf "%s.inChart.user \"postgres\" is the server's superuser, which no client may log in as; choose another (e.g. phoenix)" $k) -}}
{{- end -}}
{{- if has (toString $in.database) (list "template0" "template1") -}}{{/* createdb fails; Phoenix would write into a template */}}
{{- fail (printf "%s.inChart.database %q is one of PostgreSQL's template databases; choose another (e.g. phoenix)" $k (toString $in.database)) -}}
{{- end -}}
{{- end -}}
{{- if and $ext.enabled (not $ext.existingSecret) -}}
{{- fail (printf "%s.external.existingSecret is empty: name the Secret in the release namespace that holds the connection (key url, or keys host, user and password; %s.external.secretFormat)" $k $k) -}}
{{- end -}}
{{- end -}}
{{- range $i, $e := .Values.phoenix.extraEnv -}}
{{- $n := toString $e.name -}}
{{- if or (eq $n "PHOENIX_SQL_DATABASE_URL") (hasPrefix "PHOENIX_POSTGRES_" $n) -}}
{{- fail (printf "phoenix.extraEnv[%d] sets %s: Phoenix's database is phoenix.database (type postgresql, with %s.external.existingSecret for an external server), so the backup and restore steps use the same one and no password is written in a value" $i $n $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cogniverse.checks" -}}
{{- $v := .Values -}}
{{- include "cogniverse.security.checks" . -}}
{{- include "cogniverse.check.phoenixDatabase" . -}}
{{- range $c := list "runtime" "vespa" "phoenix" "llm" "tests" -}}
{{- $comp := index $v $c -}}
{{- if $comp.enabled -}}
{{- include "cogniverse.check.resources" (dict "key" (printf "%s.resources" $c) "r" $comp.resources) -}}
{{- end -}}
{{- end -}}
{{- if $v.workflows.enabled -}}
{{- $w := $v.workflows -}}
{{- include "cogniverse.check.resources" (dict "key" "workflows.resources" "r" $w.resources) -}}
{{- range $step, $over := ($w.steps | default dict) -}}
{{- include "cogniverse.check.resources" (dict "key" (printf "workflows.steps.%s.resources" $step) "r" ($over.resources | default dict)) -}}
{{- end -}}
{{- range $name, $c := $w.cronWorkflows -}}
{{- range $i, $s := $c.schedules -}}
{{- include "cogniverse.check.cron" (dict "key" (printf "workflows.cronWorkflows.%s.schedules[%d]" $name $i) "expr" $s) -}}
{{- end -}}
{{- end -}}
{{- $tp := $w.templates.tenantProvisioning -}}
{{- if $tp.enabled -}}
{{- range $param, $bound := dict "cpu-quota" "cpu" "memory-quota" "memory" "storage-quota" "storage" -}}
{{- $value := index $tp.parameters $param -}}
{{- $max := index $tp.quota.max $bound -}}
{{- if gt (float64 (include "cogniverse.quantity.value" $value)) (float64 (include "cogniverse.quantity.value" $max)) -}}
{{- fail (printf "workflows.templates.tenantProvisioning.parameters.%s (%s) is above workflows.templates.tenantProvisioning.quota.max.%s (%s): the API server would refuse every tenant quota; lower it or raise the bound" $param (include "cogniverse.scalar" $value) $bound (include "cogniverse.scalar" $max)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $b := $w.volumes.backups -}}
{{- if and $w.cronWorkflows.dailyBackup.enabled (not $b.create) (not $b.existingClaim) -}}
{{- fail "workflows.volumes.backups: create is false and existingClaim is empty, so daily-backup would write to a volume that vanishes with its pod; set workflows.volumes.backups.create=true or workflows.volumes.backups.existingClaim=<an existing PVC>, or disable workflows.cronWorkflows.dailyBackup" -}}
{{- end -}}
{{- end -}}
{{- end -}}
