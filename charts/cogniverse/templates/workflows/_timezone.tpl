{{/*
A CronWorkflow time zone is a name of the IANA tz database (files/timezones.txt, written by
`cogniverse-chart schema` from it): Argo accepts any text, and a CronWorkflow with an unknown zone never
runs. Fails with one line naming the key, and the nearest zone when one is close:
(dict "key" "workflows.cronWorkflows.x.timezone" "tz" "Europe/Berln" "ctx" $)
*/}}
{{- define "cogniverse.check.timezone" -}}
{{- $zones := splitList "\n" (.ctx.Files.Get "files/timezones.txt") -}}
{{- if and .tz (not (has .tz $zones)) -}}
{{- $region := regexReplaceAll "/.*$" .tz "" -}}
{{- $city := regexReplaceAll "^[^/]*/?" .tz "" -}}
{{- $hint := "" -}}
{{- range $zones -}}
{{- if and (not $hint) $city (hasPrefix (printf "%s/%s" $region (trunc 3 $city)) .) -}}{{- $hint = . -}}{{- end -}}
{{- end -}}
{{- range $zones -}}
{{- if and (not $hint) $city (hasSuffix (printf "/%s" $city) .) -}}{{- $hint = . -}}{{- end -}}
{{- end -}}
{{- $advice := ternary (printf "did you mean %q?" $hint) "e.g. UTC, Europe/Berlin" (ne $hint "") -}}
{{- fail (printf "%s: %q: not an IANA time zone; %s" .key .tz $advice) -}}
{{- end -}}
{{- end -}}
