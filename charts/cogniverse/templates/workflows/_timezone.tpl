{{/*
A CronWorkflow time zone is a name of the IANA tz database (files/timezones.txt, written by
`cogniverse-chart schema` from it): Argo accepts any text, and a CronWorkflow with an unknown zone never
runs; `Local` and an empty zone follow the controller's host. Fails with one line naming the key, and the
nearest zone when one is close (in another letter case first):
(dict "key" "workflows.cronWorkflows.x.timezone" "tz" "Europe/Berln" "ctx" $)
*/}}
{{- define "cogniverse.check.timezone" -}}
{{- $zones := splitList "\n" (.ctx.Files.Get "files/timezones.txt") -}}
{{- if or (eq (toString .tz) "") (eq (toString .tz) "Local") -}}
{{- fail (printf "%s: %q: the controller host's zone, not a fixed one; e.g. UTC" .key (toString .tz)) -}}
{{- end -}}
{{- if not (has .tz $zones) -}}
{{- $region := regexReplaceAll "/.*$" .tz "" -}}
{{- $city := regexReplaceAll "^[^/]*/?" .tz "" -}}
{{- $hint := "" -}}
{{- range $zones -}}
{{- if and (not $hint) . (eq (lower .) (lower $.tz)) -}}{{- $hint = . -}}{{- end -}}
{{- end -}}
{{- range $zones -}}
{{- if and (not $hint) $city (hasPrefix (printf "%s/%s" $region (trunc 3 $city)) .) -}}{{- $hint = . -}}{{- end -}}
{{- end -}}
{{- range $zones -}}
{{- if and (not $hint) $city (hasSuffix (printf "/%s" $city) .) -}}{{- $hint = . -}}{{- end -}}
{{- end -}}
{{- $advice := ternary (printf "did you mean %q?" $hint) "e.g. UTC, Europe/Berlin" (ne $hint "") -}}
{{- $show := ternary (printf "%s..." (trunc 20 .tz)) .tz (gt (len .tz) 32) -}}{{/* the longest zone has 32 */}}
{{- fail (printf "%s: %q: not an IANA time zone; %s" .key $show $advice) -}}
{{- end -}}
{{- end -}}
