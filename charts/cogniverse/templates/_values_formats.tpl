{{/*
Value formats whose JSON Schema messages nobody can read (Helm prints a 2 KB cron pattern, "'not'
failed", "got string, want number"): checked here instead, before every other check, each failing with
one line (under 200 characters with Helm's prefix) that names the key and says what is expected.
values.schema.json keeps their descriptions and examples for editors. Called from values-checks.yaml.
*/}}

{{/* A cron schedule as Argo's cron library reads it: (dict "key" "workflows.cronWorkflows.x.schedules[0]" "expr" "0 2 * * *") */}}
{{- define "cogniverse.format.cron" -}}
{{- $e := trim (toString .expr) -}}
{{- $show := ternary (printf "%s..." (trunc 16 $e)) $e (gt (len $e) 40) -}}{{/* the message stays one short line */}}
{{- if hasPrefix "@every" $e -}}
{{- if not (regexMatch "^@every ([0-9]+(\\.[0-9]+)?(ms|h|m|s))+$" $e) -}}
{{- fail (printf "%s: %q: want @every and a duration such as 1h30m, 15m or 90s" .key $show) -}}
{{- end -}}
{{- if not (regexMatch "[1-9]" $e) -}}{{/* robfig/cron rounds a zero duration up to 1s: a workflow every second */}}
{{- fail (printf "%s: %q: a zero duration (runs every second); want e.g. 15m" .key $show) -}}
{{- end -}}
{{- else if not (regexMatch "^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$" $e) -}}
{{- $f := regexSplit "\\s+" $e -1 -}}
{{- if ne (len $f) 5 -}}
{{- fail (printf "%s: %q: want 5 fields (min hour day month weekday) or @daily" .key $show) -}}
{{- end -}}
{{- $names := dict "jan" 1 "feb" 2 "mar" 3 "apr" 4 "may" 5 "jun" 6 "jul" 7 "aug" 8 "sep" 9 "oct" 10 "nov" 11 "dec" 12 "sun" 0 "mon" 1 "tue" 2 "wed" 3 "thu" 4 "fri" 5 "sat" 6 -}}
{{- $months := "0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)" -}}
{{- $fields := list (list "minute" "0-59" "[0-5]?[0-9]") (list "hour" "0-23" "[01]?[0-9]|2[0-3]") (list "day" "1-31" "0?[1-9]|[12][0-9]|3[01]") (list "month" "1-12, jan-dec" $months) (list "weekday" "0-6, sun-sat" "[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)") -}}
{{- range $i, $spec := $fields -}}
{{- $atom := printf "(%s)" (index $spec 2) -}}
{{- $item := printf "(\\*|%s(-%s)?)(/[1-9][0-9]*)?" $atom $atom -}}
{{- if not (regexMatch (printf "^%s(,%s)*$" $item $item) (index $f $i)) -}}
{{- fail (printf "%s: %q: %s %q is not %s" $.key $show (index $spec 0) (trunc 16 (index $f $i)) (index $spec 1)) -}}
{{- end -}}
{{- range $part := splitList "," (index $f $i) -}}
{{- $ends := splitList "-" (regexReplaceAll "/.*$" $part "") -}}
{{- if eq (len $ends) 2 -}}
{{- $from := get $names (lower (first $ends)) | default (atoi (first $ends)) -}}
{{- $to := get $names (lower (last $ends)) | default (atoi (last $ends)) -}}
{{- if gt (int $from) (int $to) -}}
{{- fail (printf "%s: %s range %q runs backwards (Argo refuses it)" $.key (index $spec 0) (trunc 24 $part)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A positive Kubernetes quantity below the peta range: (dict "key" "runtime.resources.limits.memory" "q" "1Gx") */}}
{{- define "cogniverse.format.quantity" -}}
{{- $q := .q -}}
{{- $ok := false -}}
{{- if or (kindIs "float64" $q) (kindIs "int64" $q) (kindIs "int" $q) -}}
{{- $ok = and (gt (float64 $q) 0.0) (le (float64 $q) 1e15) -}}
{{- else if kindIs "string" $q -}}
{{- $ok = and (regexMatch "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi|[eE](-[0-9]+|\\+?0?[0-9]|\\+?1[0-5]))?$" $q) (not (regexMatch "^0*(\\.0*)?([a-zA-Z]*|[eE][-+]?[0-9]+)$" $q)) -}}
{{- end -}}
{{- if not $ok -}}
{{- fail (printf "%s: %q: want a quantity above 0 such as 500m, 2, 512Mi, 4Gi" .key (toString $q)) -}}
{{- end -}}
{{- end -}}

{{/* A value in a message: quoted in ASCII (newlines, zero-width and bidi characters escaped), a long one cut
(never inside a character or an escape) so the line stays short */}}
{{- define "cogniverse.format.show" -}}
{{- $q := printf "%+q" (toString .) -}}
{{- if gt (len $q) 26 -}}{{- $q = printf "%s...\"" (regexReplaceAll "\\\\[uUx]?[0-9a-f]*$" (trunc 20 $q) "") -}}{{- end -}}
{{- $q -}}
{{- end -}}

{{/* A registry host, optionally with :port and a lowercase path ("" = none), as an image reference admits
it: (dict "key" "global.imageRegistry" "r" "registry.example.com:5000/mirror") */}}
{{- define "cogniverse.format.registry" -}}
{{- $r := toString (.r | default "") -}}
{{- if not (regexMatch "^$|^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$" $r) -}}
{{- $why := ternary "no scheme: write the host alone" "want e.g. reg.example.com:5000/mirror" (contains "://" $r) -}}
{{- fail (printf "%s: %s: %s" .key (include "cogniverse.format.show" $r) $why) -}}
{{- end -}}
{{- end -}}

{{/* An image (registry, repository, tag, digest): the references Kubernetes pulls, with a lowercase
repository and the tag and digest in their own keys: (dict "key" "runtime.image" "v" .Values.runtime.image) */}}
{{- define "cogniverse.format.image" -}}
{{- $repo := toString (get .v "repository" | default "") -}}
{{- $tag := toString (get .v "tag" | default "") -}}
{{- $digest := toString (get .v "digest" | default "") -}}
{{- $path := "[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$" -}}
{{- $host := "^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/)?" -}}
{{- if not (regexMatch (print $host $path) $repo) -}}
{{- $why := "want e.g. team/app or host:5000/team/app" -}}
{{- if regexMatch "[^A-Za-z0-9._/:@-]" $repo -}}{{- /* spaces, newlines, quotes: the generic advice */ -}}
{{- else if contains "@" $repo -}}{{- $why = "move the digest to image.digest" -}}
{{- else if regexMatch ":[^/]*$" $repo -}}{{- $why = "move the tag to image.tag" -}}
{{- else if regexMatch (print $host $path) (lower $repo) -}}{{- $why = "want a lowercase path" -}}
{{- end -}}
{{- fail (printf "%s.repository: %s: %s" .key (include "cogniverse.format.show" $repo) $why) -}}
{{- end -}}
{{- if eq $tag "latest" -}}
{{- fail (printf "%s.tag: \"latest\" changes under you; pin a version (e.g. 1.4.2) or set image.digest" .key) -}}
{{- end -}}
{{- if not (regexMatch "^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$" $tag) -}}
{{- $why := "want e.g. 1.4.2 (letters, digits, _ . -)" -}}
{{- if regexMatch "[^A-Za-z0-9_.:@-]" $tag -}}{{- /* spaces, newlines, quotes: the generic advice */ -}}
{{- else if regexMatch "[:@]" $tag -}}{{- $why = "want no ':' or '@'; put a digest in image.digest" -}}
{{- else if gt (len $tag) 128 -}}{{- $why = printf "%d characters; a tag has at most 128" (len $tag) -}}
{{- end -}}
{{- fail (printf "%s.tag: %s: %s" .key (include "cogniverse.format.show" $tag) $why) -}}
{{- end -}}
{{- if not (regexMatch "^$|^sha256:[a-f0-9]{64}$" $digest) -}}
{{- fail (printf "%s.digest: %s: want sha256: and 64 lowercase hex digits" .key (include "cogniverse.format.show" $digest)) -}}
{{- end -}}
{{- include "cogniverse.format.registry" (dict "key" (printf "%s.registry" .key) "r" (get .v "registry")) -}}
{{- end -}}

{{/* Every image, resource quantity (requests, limits) and quota (*-quota) anywhere in the values:
(dict "key" "runtime" "v" .Values.runtime) */}}
{{- define "cogniverse.format.walk" -}}
{{- if kindIs "map" .v -}}
{{- if and (hasKey .v "repository") (regexMatch "(^|[.])image$" .key) -}}
{{- include "cogniverse.format.image" . -}}
{{- end -}}
{{- range $k, $x := .v -}}
{{- $key := printf "%s.%s" $.key $k -}}
{{- if hasSuffix "-quota" $k -}}
{{- include "cogniverse.format.quantity" (dict "key" $key "q" $x) -}}
{{- else if and (has $k (list "requests" "limits")) (kindIs "map" $x) -}}
{{- range $name, $q := $x -}}
{{- include "cogniverse.format.quantity" (dict "key" (printf "%s.%s" $key $name) "q" $q) -}}
{{- end -}}
{{- else -}}
{{- include "cogniverse.format.walk" (dict "key" $key "v" $x) -}}
{{- end -}}
{{- end -}}
{{- else if kindIs "slice" .v -}}
{{- range $i, $x := .v -}}
{{- include "cogniverse.format.walk" (dict "key" (printf "%s[%d]" $.key $i) "v" $x) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cogniverse.formats" -}}
{{- include "cogniverse.format.registry" (dict "key" "global.imageRegistry" "r" .Values.global.imageRegistry) -}}
{{- range $k, $v := .Values -}}
{{- include "cogniverse.format.walk" (dict "key" $k "v" $v) -}}
{{- end -}}
{{- range $name, $c := .Values.workflows.cronWorkflows -}}
{{- range $i, $s := $c.schedules -}}
{{- include "cogniverse.format.cron" (dict "key" (printf "workflows.cronWorkflows.%s.schedules[%d]" $name $i) "expr" $s) -}}
{{- end -}}
{{- include "cogniverse.check.timezone" (dict "key" (printf "workflows.cronWorkflows.%s.timezone" $name) "tz" $c.timezone "ctx" $) -}}
{{- end -}}
{{- end -}}
