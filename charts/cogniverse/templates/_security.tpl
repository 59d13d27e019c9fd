{{/*
Render-time security checks on values AFTER Helm merged them (called from cogniverse.checks, so
`helm template`, `install` and `upgrade` on Helm 3 and 4 all run them). The schema sees the merged
values too, but a `null` in a values file deletes the chart's default before anything checks it, and a
component's securityContext replaces keys of the top-level one: only the contexts as the pods get them
say whether Pod Security holds. Each check fails with one line naming the values key and the fix.
*/}}

{{/* A value that is exactly true (a null or a missing key is not). */}}
{{- define "cogniverse.security.isTrue" -}}
{{- if and (kindIs "bool" .) . }}true{{ end -}}
{{- end -}}

{{/*
Pod Security Standards on one pod's contexts as rendered: (dict "key" "<values keys>" "pod" <pod sc> "container" <container sc>
"restricted" true|false). Baseline always (AppArmor, SELinux, sysctls, privileged); restricted unless lifted.
*/}}
{{- define "cogniverse.security.check" -}}
{{- $p := .pod | default dict -}}
{{- $c := .container | default dict -}}
{{- $where := .key -}}
{{- $hint := "; a null in a values file removes the chart's default, so set the key instead of nulling it" -}}
{{- if include "cogniverse.security.isTrue" $c.privileged -}}
{{- fail (printf "%s: privileged: true is refused (Pod Security baseline); remove it" $where) -}}
{{- end -}}
{{- range $sc := list $p $c -}}
{{- with $sc.appArmorProfile -}}
{{- if not (has (toString .type) (list "RuntimeDefault" "Localhost")) -}}
{{- fail (printf "%s: appArmorProfile.type %v is refused (Pod Security baseline allows RuntimeDefault or Localhost, never Unconfined)" $where .type) -}}
{{- end -}}
{{- end -}}
{{- with $sc.seLinuxOptions -}}
{{- if or .user .role -}}
{{- fail (printf "%s: seLinuxOptions.user and .role are refused (Pod Security baseline); remove them" $where) -}}
{{- end -}}
{{- if and .type (not (has (toString .type) (list "container_t" "container_init_t" "container_kvm_t" "container_engine_t"))) -}}
{{- fail (printf "%s: seLinuxOptions.type %v is refused (Pod Security baseline allows container_t, container_init_t, container_kvm_t, container_engine_t)" $where .type) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $safe := list "kernel.shm_rmid_forced" "net.ipv4.ip_local_port_range" "net.ipv4.ip_unprivileged_port_start" "net.ipv4.tcp_syncookies" "net.ipv4.ping_group_range" "net.ipv4.ip_local_reserved_ports" "net.ipv4.tcp_keepalive_time" "net.ipv4.tcp_fin_timeout" "net.ipv4.tcp_keepalive_intvl" "net.ipv4.tcp_keepalive_probes" -}}
{{- range $p.sysctls | default list -}}
{{- if not (has (toString .name) $safe) -}}
{{- fail (printf "%s: sysctl %v is not one Pod Security baseline allows (%s)" $where .name (join ", " $safe)) -}}
{{- end -}}
{{- end -}}
{{- if .restricted -}}
{{- if ne (toString $c.allowPrivilegeEscalation) "false" -}}
{{- fail (printf "%s: restricted Pod Security needs allowPrivilegeEscalation: false after merging values (found %v)%s" $where $c.allowPrivilegeEscalation $hint) -}}
{{- end -}}
{{- $nonRoot := or (include "cogniverse.security.isTrue" $p.runAsNonRoot) (include "cogniverse.security.isTrue" $c.runAsNonRoot) -}}
{{- if or (not $nonRoot) (eq (toString $p.runAsNonRoot) "false") (eq (toString $c.runAsNonRoot) "false") -}}
{{- fail (printf "%s: restricted Pod Security needs runAsNonRoot: true after merging values (pod %v, container %v)%s" $where $p.runAsNonRoot $c.runAsNonRoot $hint) -}}
{{- end -}}
{{- range $sc := list $p $c -}}
{{- if and (hasKey $sc "runAsUser") (not (kindIs "invalid" $sc.runAsUser)) (eq (int64 $sc.runAsUser) 0) -}}
{{- fail (printf "%s: restricted Pod Security refuses runAsUser: 0 (root)" $where) -}}
{{- end -}}
{{- end -}}
{{- $seccomp := list "RuntimeDefault" "Localhost" -}}
{{- $podType := toString (($p.seccompProfile | default dict).type) -}}
{{- $ctrType := toString (($c.seccompProfile | default dict).type) -}}
{{- if or (not (or (has $podType $seccomp) (has $ctrType $seccomp))) (and $c.seccompProfile (not (has $ctrType $seccomp))) -}}
{{- fail (printf "%s: restricted Pod Security needs seccompProfile.type RuntimeDefault or Localhost after merging values (pod %q, container %q)%s" $where $podType $ctrType $hint) -}}
{{- end -}}
{{- range $sc := list $p $c -}}
{{- if and $sc.seccompProfile (eq (toString $sc.seccompProfile.type) "Localhost") (not $sc.seccompProfile.localhostProfile) -}}
{{- fail (printf "%s: seccompProfile.type Localhost needs localhostProfile (the profile's path under the kubelet's seccomp folder); the API server refuses the pod without it" $where) -}}
{{- end -}}
{{- end -}}
{{- $caps := $c.capabilities | default dict -}}
{{- if not (has "ALL" ($caps.drop | default list)) -}}
{{- fail (printf "%s: restricted Pod Security needs capabilities.drop [ALL] after merging values (found %v)%s" $where $caps.drop $hint) -}}
{{- end -}}
{{- range $caps.add | default list -}}
{{- if ne (toString .) "NET_BIND_SERVICE" -}}
{{- fail (printf "%s: restricted Pod Security allows only NET_BIND_SERVICE in capabilities.add, not %v" $where .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Pod annotations the kubelet still honours for AppArmor (container.apparmor.security.beta.kubernetes.io/<container>):
Pod Security baseline allows only runtime/default and localhost/<profile>, never unconfined.
*/}}
{{- define "cogniverse.security.annotations" -}}
{{- range $k, $v := .annotations | default dict -}}
{{- if and (hasPrefix "container.apparmor.security.beta.kubernetes.io/" $k) (ne (toString $v) "runtime/default") (not (hasPrefix "localhost/" (toString $v))) -}}
{{- fail (printf "%s: %s: %v is refused (Pod Security baseline allows AppArmor runtime/default or localhost/<profile>, never unconfined)" $.key $k $v) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Every pod the chart renders, with its contexts as rendered. */}}
{{- define "cogniverse.security.checks" -}}
{{- $v := .Values -}}
{{- range $name := list "runtime" "vespa" "phoenix" "llm" "tests" -}}
{{- $comp := index $v $name -}}
{{- if $comp.enabled -}}
{{- $c := ternary (dict) $comp (eq $name "tests") -}}
{{- include "cogniverse.security.annotations" (dict "key" (printf "%s.podAnnotations" $name) "annotations" $comp.podAnnotations) -}}
{{- $pod := include "cogniverse.pod.securityContext" (dict "ctx" $ "c" $c) | fromYaml -}}
{{- $ctr := include "cogniverse.container.securityContext" (dict "ctx" $ "c" $c) | fromYaml -}}
{{- $key := ternary "podSecurityContext/containerSecurityContext" (printf "podSecurityContext/containerSecurityContext with %s.podSecurityContext/%s.containerSecurityContext" $name $name) (eq $name "tests") -}}
{{- include "cogniverse.security.check" (dict "key" $key "pod" $pod "container" $ctr "restricted" (not (and (eq $name "vespa") $comp.unrestrictedSecurityContext))) -}}
{{- end -}}
{{- end -}}
{{- if eq (include "cogniverse.phoenix.database" .) "inChart" -}}
{{- $c := $v.phoenix.database.postgresql.inChart -}}
{{- $pod := include "cogniverse.pod.securityContext" (dict "ctx" $ "c" $c) | fromYaml -}}
{{- $ctr := include "cogniverse.container.securityContext" (dict "ctx" $ "c" $c) | fromYaml -}}
{{- include "cogniverse.security.check" (dict "key" "podSecurityContext/containerSecurityContext with phoenix.database.postgresql.inChart.podSecurityContext/containerSecurityContext" "pod" $pod "container" $ctr "restricted" true) -}}
{{- end -}}
{{- if $v.workflows.enabled -}}
{{- include "cogniverse.security.check" (dict "key" "workflows.podSecurityContext/workflows.securityContext" "pod" $v.workflows.podSecurityContext "container" $v.workflows.securityContext "restricted" true) -}}
{{- end -}}
{{- include "cogniverse.security.accounts" . -}}
{{- include "cogniverse.security.templateWriters" . -}}
{{- include "cogniverse.security.controller" . -}}
{{- include "cogniverse.security.exposure" . -}}
{{- end -}}

{{/*
The privileged accounts (tenant provisioner, deadline watchdog) and the restore account (its Role scales
Phoenix) are nobody else's: not `default` (every pod without an account runs as it), not the steps' or the
service pods' account, not each other.
*/}}
{{- define "cogniverse.security.accounts" -}}
{{- if .Values.workflows.enabled -}}
{{- $taken := dict (include "cogniverse.workflows.serviceAccountName" (dict "ctx" $ "purpose" "steps")) "workflows.serviceAccounts.steps" -}}
{{- if .Values.runtime.enabled | or .Values.vespa.enabled | or .Values.phoenix.enabled | or .Values.llm.enabled -}}
{{- $_ := set $taken (include "cogniverse.serviceAccountName" .) "serviceAccount (the service pods')" -}}
{{- end -}}
{{- $_ := set $taken "default" "the namespace's default account (every pod without one runs as it)" -}}
{{- $enabled := dict "restore" $.Values.workflows.templates.restore.enabled "tenantProvisioner" $.Values.workflows.templates.tenantProvisioning.enabled "deadlineWatchdog" $.Values.workflows.cronWorkflows.deadlineWatchdog.enabled -}}
{{- range $purpose := list "restore" "tenantProvisioner" "deadlineWatchdog" -}}
{{- $on := get $enabled $purpose -}}
{{- if $on -}}
{{- $sa := include "cogniverse.workflows.serviceAccountName" (dict "ctx" $ "purpose" $purpose) -}}
{{- if hasKey $taken $sa -}}
{{- fail (printf "workflows.serviceAccounts.%s: the account %q is also %s; a privileged role bound to it would give its rights to every pod running as it. Give it an account of its own" $purpose $sa (get $taken $sa)) -}}
{{- end -}}
{{- $_ := set $taken $sa (printf "workflows.serviceAccounts.%s" $purpose) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
argo.templateWriters may write the privileged WorkflowTemplates and are exempt from the locks policy: never a
group every user or every pod is in, nor a pod of the release namespace (attack21d #11).
*/}}
{{- define "cogniverse.security.templateWriters" -}}
{{- if .Values.workflows.enabled -}}
{{- $why := "may write the WorkflowTemplates that run as the tenant provisioner and the deadline watchdog, and hold the chart's locks" -}}
{{- range $i, $g := .Values.argo.templateWriters.groups | default list -}}
{{- if or (has $g (list "system:authenticated" "system:unauthenticated" "system:serviceaccounts")) (hasPrefix "system:serviceaccounts:" $g) -}}
{{- fail (printf "argo.templateWriters.groups[%d] %q: every user or every pod of a namespace is in it, and a template writer %s; name the identity that runs helm (argo.templateWriters.users) or a group only administrators are in" $i $g $why) -}}
{{- end -}}
{{- end -}}
{{- range $i, $u := .Values.argo.templateWriters.users | default list -}}
{{- if or (eq $u "system:anonymous") (hasPrefix (printf "system:serviceaccount:%s:" $.Release.Namespace) $u) -}}
{{- fail (printf "argo.templateWriters.users[%d] %q: an anonymous user or an account of the release namespace (which its pods, and so its workflows, may run as) may not be a template writer: it %s; name the identity that runs helm, outside this namespace" $i $u $why) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
argo.controller may create pods as the privileged accounts and write any run state: never the release
namespace's `default` account or one the chart creates there, which the namespace's pods run as (attack21d #14).
*/}}
{{- define "cogniverse.security.controller" -}}
{{- if and .Values.workflows.enabled (eq .Values.argo.controller.namespace .Release.Namespace) -}}
{{- $sa := .Values.argo.controller.serviceAccount -}}
{{- $taken := list "default" (include "cogniverse.serviceAccountName" .) -}}
{{- range $purpose := list "steps" "restore" "tenantProvisioner" "deadlineWatchdog" -}}
{{- $taken = append $taken (include "cogniverse.workflows.serviceAccountName" (dict "ctx" $ "purpose" $purpose)) -}}
{{- end -}}
{{- if has $sa $taken -}}
{{- fail (printf "argo.controller.serviceAccount %q in the release namespace %s: Argo's controller may create pods as the privileged accounts and write any run state, and this account is the namespace's default or one the chart creates, which its pods (and so its workflows) run as; name the account Argo's workflow controller runs as" $sa $.Release.Namespace) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Phoenix and Ollama have no authentication: outside the cluster only with an explicit acknowledgement. */}}
{{- define "cogniverse.security.exposure" -}}
{{- range $name := list "phoenix" "llm" -}}
{{- $comp := index $.Values $name -}}
{{- if and $comp.enabled (has (toString $comp.service.type) (list "NodePort" "LoadBalancer")) (not $comp.service.exposeUnauthenticated) -}}
{{- fail (printf "%s.service.type %s puts an unauthenticated %s outside the cluster (anyone who reaches a node or the load balancer can use it); keep ClusterIP, or set %s.service.exposeUnauthenticated=true if a firewall or proxy in front of it authenticates" $name $comp.service.type (ternary "Phoenix (traces, prompts, datasets)" "Ollama (run and pull models)" (eq $name "phoenix")) $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
