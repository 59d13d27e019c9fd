{{- /*
CEL builders for the admission policies (token-routes-admission.yaml) that look into every template Argo runs:
a spec's templateDefaults and templates, their steps and DAG tasks, and inline templates nested in those, down to
cogniverse.argo.maxNesting levels (deeper nesting is refused by its own check). Each builder yields a CEL list of
strings, one per finding, each naming where it is (a CEL string expression given as "l"), so a denial can say
which key and what is expected; an empty list admits.

Arguments (a dict): e = the CEL expression of the object, l = the CEL string expression of its path, d = the
inline depth, and the names of the leaf builders: leafSpec, leafT (a template), leafS (a step or task; "" for
none), deep (true: an inline template nested deeper than the bound is a finding).
*/ -}}
{{- define "cogniverse.argo.maxNesting" -}}2{{- end -}}
{{- /* (list <list or map expr> <variable> <CEL list-of-strings body>): the findings of every element, joined per element. */ -}}
{{- define "cogniverse.argo.each" -}}
{{- $v := index . 1 -}}
{{ index . 0 }}.map({{ $v }}, ({{ index . 2 }}).join('; ')).filter(z{{ $v }}, z{{ $v }} != '')
{{- end -}}
{{- define "cogniverse.argo.walk" -}}
{{- $g := printf "g%d" (int .d) }}{{ $s := printf "s%d" (int .d) -}}
{{- $step := merge (dict "e" $s "l" (printf "%s + '.steps[][]/dag.tasks[]'" .l)) (omit . "e" "l") -}}
({{ include .leafT (dict "e" .e "l" .l) }}
+ {{ include "cogniverse.argo.each" (list (printf "((has(%s.steps) ? %s.steps : []) + (has(%s.dag) && has(%s.dag.tasks) ? [%s.dag.tasks] : []))" .e .e .e .e .e) $g (include "cogniverse.argo.each" (list $g $s (include "cogniverse.argo.walkStep" $step)))) }})
{{- end -}}
{{- define "cogniverse.argo.walkStep" -}}
({{ if .leafS }}{{ include .leafS (dict "e" .e "l" .l) }}{{ else }}[]{{ end }} + (!has({{ .e }}.inline) ? [] :
{{- if lt (int .d) (int (include "cogniverse.argo.maxNesting" .)) }}
{{ include "cogniverse.argo.walk" (merge (dict "e" (printf "%s.inline" .e) "l" (printf "%s + '.inline'" .l) "d" (add1 .d)) (omit . "e" "l" "d")) }}
{{- else }} ['deep ' + {{ .l }} + '.inline']{{ end }}))
{{- end -}}
{{- define "cogniverse.argo.walkSpec" -}}
({{ if .leafSpec }}{{ include .leafSpec (dict "e" .e "l" .l) }}{{ else }}[]{{ end }}
+ (!has({{ .e }}.templateDefaults) ? [] : {{ include "cogniverse.argo.walk" (merge (dict "e" (printf "%s.templateDefaults" .e) "l" (printf "%s + '.templateDefaults'" .l) "d" 0) (omit . "e" "l")) }})
+ (!has({{ .e }}.templates) ? [] : {{ include "cogniverse.argo.each" (list (printf "%s.templates" .e) "t" (include "cogniverse.argo.walk" (merge (dict "e" "t" "l" (printf "%s + '.templates[' + (has(t.name) ? string(t.name) : '') + ']'" .l) "d" 0) (omit . "e" "l")))) }}))
{{- end -}}
{{- /* Leaf of the nesting check: none (walk with deep: true). */ -}}
{{- define "cogniverse.argo.none" -}}[]{{- end -}}
{{- /*
Exact spelling. Argo's controller decodes a workflow with Go's encoding/json when its typed decoder fails (an
integer in a parameter's value); encoding/json matches a key to a field in any case ('ſ' as 's', 'K' as 'k'), so
`ServiceAccountName` would name an account, `Synchronization` hold a lock, behind the policies' backs. With Argo's
minimal CRDs the API server keeps any key of a spec; with the full CRDs those of inline templates. A key whose
ASCII-lowercase form is an Argo field name (variables.argoFields, _argo_fields.tpl) must be spelled as Argo does;
a non-ASCII key is never an Argo field and is refused.
*/ -}}
{{- define "cogniverse.argo.bad" -}}
{{ index . 0 }}.filter(k, !k.matches('^[\\x00-\\x7f]*$') || (k.lowerAscii() in variables.argoFields && variables.argoFields[k.lowerAscii()] != k)).map(k, 'key ' + {{ index . 1 }} + '.' + k)
{{- end -}}
{{- /* (list expr label field): the findings of expr.field when it is there. */ -}}
{{- define "cogniverse.argo.badAt" -}}
(!has({{ index . 0 }}.{{ index . 2 }}) ? [] : {{ include "cogniverse.argo.bad" (list (printf "%s.%s" (index . 0) (index . 2)) (printf "%s + '.%s'" (index . 1) (index . 2))) }})
{{- end -}}
{{- define "cogniverse.argo.keysSemaphore" -}}
({{ include "cogniverse.argo.bad" (list .e .l) }} + {{ include "cogniverse.argo.badAt" (list .e .l "configMapKeyRef") }})
{{- end -}}
{{- define "cogniverse.argo.keysSync" -}}
(!has({{ .e }}.synchronization) ? [] : {{ include "cogniverse.argo.bad" (list (printf "%s.synchronization" .e) (printf "%s + '.synchronization'" .l)) }}
+ {{ include "cogniverse.argo.badAt" (list (printf "%s.synchronization" .e) (printf "%s + '.synchronization'" .l) "mutex") }}
+ (!has({{ .e }}.synchronization.mutexes) ? [] : {{ include "cogniverse.argo.each" (list (printf "%s.synchronization.mutexes" .e) "m" (include "cogniverse.argo.bad" (list "m" (printf "%s + '.synchronization.mutexes[]'" .l)))) }})
+ (!has({{ .e }}.synchronization.semaphore) ? [] : {{ include "cogniverse.argo.keysSemaphore" (dict "e" (printf "%s.synchronization.semaphore" .e) "l" (printf "%s + '.synchronization.semaphore'" .l)) }})
+ (!has({{ .e }}.synchronization.semaphores) ? [] : {{ include "cogniverse.argo.each" (list (printf "%s.synchronization.semaphores" .e) "sm" (include "cogniverse.argo.keysSemaphore" (dict "e" "sm" "l" (printf "%s + '.synchronization.semaphores[]'" .l)))) }}))
{{- end -}}
{{- /* The hooks of a spec or step (a map of LifecycleHooks). */ -}}
{{- define "cogniverse.argo.keysHooks" -}}
(!has({{ .e }}.hooks) ? [] : {{ include "cogniverse.argo.each" (list (printf "%s.hooks" .e) "h" (printf "%s + %s" (include "cogniverse.argo.bad" (list (printf "%s.hooks[h]" .e) (printf "%s + '.hooks[' + h + ']'" .l))) (include "cogniverse.argo.badAt" (list (printf "%s.hooks[h]" .e) (printf "%s + '.hooks[' + h + ']'" .l) "templateRef")))) }})
{{- end -}}
{{- define "cogniverse.argo.keysTemplate" -}}
({{ include "cogniverse.argo.bad" (list .e .l) }} + {{ include "cogniverse.argo.badAt" (list .e .l "executor") }} + {{ include "cogniverse.argo.badAt" (list .e .l "dag") }}
+ {{ include "cogniverse.argo.keysSync" . }}
+ {{ include "cogniverse.argo.badAt" (list .e .l "outputs") }}
+ (!has({{ .e }}.outputs) || !has({{ .e }}.outputs.artifacts) ? [] : {{ include "cogniverse.argo.each" (list (printf "%s.outputs.artifacts" .e) "a" (printf "%s + %s" (include "cogniverse.argo.bad" (list "a" (printf "%s + '.outputs.artifacts[]'" .l))) (include "cogniverse.argo.badAt" (list "a" (printf "%s + '.outputs.artifacts[]'" .l) "artifactGC")))) }}))
{{- end -}}
{{- define "cogniverse.argo.keysStep" -}}
({{ include "cogniverse.argo.bad" (list .e .l) }} + {{ include "cogniverse.argo.badAt" (list .e .l "templateRef") }} + {{ include "cogniverse.argo.keysHooks" . }})
{{- end -}}
{{- define "cogniverse.argo.keysSpec" -}}
({{ include "cogniverse.argo.bad" (list .e .l) }} + {{ include "cogniverse.argo.badAt" (list .e .l "executor") }}
+ {{ include "cogniverse.argo.badAt" (list .e .l "artifactGC") }} + {{ include "cogniverse.argo.badAt" (list .e .l "workflowTemplateRef") }}
+ {{ include "cogniverse.argo.keysSync" . }} + {{ include "cogniverse.argo.keysHooks" . }})
{{- end -}}
{{- define "cogniverse.locks.lockedAt" -}}
({{ include "cogniverse.locks.okSync" .e }} ? [] : ['lock ' + {{ .l }}])
{{- end -}}
{{- /* The locks policy's leaves: the keys and the locks of a spec or template. */ -}}
{{- define "cogniverse.locks.findingsSpec" -}}
({{ include "cogniverse.argo.keysSpec" . }} + {{ include "cogniverse.locks.lockedAt" . }})
{{- end -}}
{{- define "cogniverse.locks.findingsTemplate" -}}
({{ include "cogniverse.argo.keysTemplate" . }} + {{ include "cogniverse.locks.lockedAt" . }})
{{- end -}}
{{- /* The policies' variables of the exact-spelling check (dict: stored, storedTmpls = CEL expressions of the stored
spec and templates; specSame, storedSame = CEL conditions under which that part is not checked; tmplSame = one over
a stored template's key st). */ -}}
{{- define "cogniverse.argo.findingVariables" -}}
{{- $walk := dict "leafSpec" .leafSpec "leafT" .leafT "leafS" "cogniverse.argo.keysStep" "d" 0 -}}
- name: argoFields
  expression: {{ include "cogniverse.argo.fields" . | quote }}
- name: specPath
  expression: "variables.kind == 'cronworkflows' ? 'spec.workflowSpec' : 'spec'"
- name: findingsSpec
  expression: >-
    (variables.kind != 'cronworkflows' || !has(object.spec) ? [] : {{ include "cogniverse.argo.bad" (list "object.spec" "'spec'") }})
    + (!has(object.status) ? [] : {{ include "cogniverse.argo.bad" (list "object.status" "'status'") }})
    + ({{ .specSame | default "false" }} ? [] : {{ include "cogniverse.argo.walkSpec" (merge (dict "e" "variables.spec" "l" "variables.specPath") $walk) | replace "\n" " " }})
{{- if .stored }}
- name: findingsStored
  expression: >-
    {{ .storedSame | default "false" }} ? [] : {{ include "cogniverse.argo.walkSpec" (merge (dict "e" .stored "l" "'status.storedWorkflowTemplateSpec'") $walk) | replace "\n" " " }}
{{- end }}
- name: findingsTemplates
  expression: >-
    {{ include "cogniverse.argo.each" (list .storedTmpls "st" (printf "%s ? [] : %s" (.tmplSame | default "false") (include "cogniverse.argo.walk" (merge (dict "e" (printf "%s[st]" .storedTmpls) "l" "'status.storedTemplates[' + st + ']'") $walk)))) | replace "\n" " " }}
- name: findings
  expression: "variables.findingsSpec + {{ if .stored }}variables.findingsStored + {{ end }}variables.findingsTemplates"
- name: misspelt
  expression: "variables.findings.filter(f, f.startsWith('key ')).map(f, f.substring(4))"
- name: tooDeep
  expression: "variables.findings.filter(f, f.startsWith('deep ')).map(f, f.substring(5))"
{{- end -}}
{{- /* The denial: each key found, and the spelling Argo would read it as (the last part of a finding is its key). */ -}}
{{- define "cogniverse.argo.misspeltMessage" -}}
'a ' + variables.kind + ' may hold only Argo\'s own field names, spelled exactly: '
+ variables.misspelt.map(x, x + (x.substring(x.lastIndexOf('.') + 1).lowerAscii().replace('\u017f', 's').replace('\u212a', 'k') in variables.argoFields ? ' (Argo reads it as ' + variables.argoFields[x.substring(x.lastIndexOf('.') + 1).lowerAscii().replace('\u017f', 's').replace('\u212a', 'k')] + ': spell it so)'
  : ' (not an Argo field name; those are ASCII)')).join('; ')
+ ' (when Argo\'s typed decoder fails, say on an integer parameter value, its controller reads a key in any case, and \'ſ\' as \'s\': {{ . }})'
{{- end -}}
