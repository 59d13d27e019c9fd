{{- /*
Pod Security in the release namespace, enforced by the token-routes-core policy (attack21d #3): a pod that may
mount the node's filesystem, join its network, PID or IPC namespace, or run privileged reads the projected tokens
of every pod on the node, Argo's controller's among them (whose identity token-routes-core trusts to create the
privileged accounts' pods). Anyone who may create Workflows here could otherwise make Argo's controller create
such a pod (spec.volumes, podSpecPatch, a template's securityContext). These are Pod Security's baseline items
about the host; the label pod-security.kubernetes.io/enforce=restricted on the namespace (docs/security.md)
adds the rest. The chart's own pods pass (tests/security/test_security_pod_admission.py).
*/ -}}
{{- /* Pod Security baseline's allowed capabilities (restricted allows NET_BIND_SERVICE alone). */ -}}
{{- define "cogniverse.podSecurity.baselineCapabilities" -}}
["AUDIT_WRITE","CHOWN","DAC_OVERRIDE","FOWNER","FSETID","KILL","MKNOD","NET_BIND_SERVICE","SETFCAP","SETGID","SETPCAP","SETUID","SYS_CHROOT"]
{{- end -}}
{{- define "cogniverse.podSecurity.containerChecks" -}}
{{- /* field name shown -> CEL over the container c */ -}}
{{- $sc := "has(c.securityContext)" -}}
{{- dict
  "securityContext.privileged" (printf "%s && has(c.securityContext.privileged) && c.securityContext.privileged == true" $sc)
  "securityContext.capabilities.add (beyond Pod Security baseline)" (printf "%s && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.add) && c.securityContext.capabilities.add.exists(a, !(a in %s))" $sc (include "cogniverse.podSecurity.baselineCapabilities" . | replace "\"" "'"))
  "securityContext.procMount" (printf "%s && has(c.securityContext.procMount) && c.securityContext.procMount != 'Default'" $sc)
  "securityContext.windowsOptions.hostProcess" (printf "%s && has(c.securityContext.windowsOptions) && has(c.securityContext.windowsOptions.hostProcess) && c.securityContext.windowsOptions.hostProcess == true" $sc)
  "ports[].hostPort" "has(c.ports) && c.ports.exists(pt, has(pt.hostPort) && pt.hostPort != 0)"
  | toJson -}}
{{- end -}}
{{- define "cogniverse.podSecurity.variables" -}}
- name: hostFindings
  expression: >-
    request.resource.resource != 'pods' ? [] :
    (has(object.spec.hostNetwork) && object.spec.hostNetwork == true ? ['spec.hostNetwork'] : [])
    + (has(object.spec.hostPID) && object.spec.hostPID == true ? ['spec.hostPID'] : [])
    + (has(object.spec.hostIPC) && object.spec.hostIPC == true ? ['spec.hostIPC'] : [])
    + (has(object.spec.securityContext) && has(object.spec.securityContext.windowsOptions) && has(object.spec.securityContext.windowsOptions.hostProcess)
       && object.spec.securityContext.windowsOptions.hostProcess == true ? ['spec.securityContext.windowsOptions.hostProcess'] : [])
    + (has(object.spec.volumes) ? object.spec.volumes.filter(v, has(v.hostPath)).map(v, 'spec.volumes[' + v.name + '].hostPath') : [])
    {{- $checks := include "cogniverse.podSecurity.containerChecks" . | fromJson }}
    {{- range $list := list "containers" "initContainers" "ephemeralContainers" }}
    {{- range $field := keys $checks | sortAlpha }}
    + (has(object.spec.{{ $list }}) ? object.spec.{{ $list }}.filter(c, {{ get $checks $field }}).map(c, 'spec.{{ $list }}[' + c.name + '].{{ $field }}') : [])
    {{- end }}
    {{- end }}
{{- end -}}
{{- define "cogniverse.podSecurity.validation" -}}
- expression: "variables.hostFindings.size() == 0"
  messageExpression: >-
    'pods in this namespace may not use the node\'s filesystem, network, PID or IPC namespace, or run privileged'
    + ' (Pod Security baseline; they could read every pod\'s token on the node): ' + variables.hostFindings.join(', ')
    + '; in a Workflow these come from spec.volumes, a template\'s securityContext or a podSpecPatch'
  reason: Forbidden
{{- end -}}
