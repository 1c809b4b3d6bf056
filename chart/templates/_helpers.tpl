{{/*
Shared helpers of the app chart. Every object of one app carries the same name (the release name)
and the same selector labels, so the NetworkPolicy, Service and PodDisruptionBudget select exactly
the app's pods.
*/}}

{{/* The name of every object: the release name, cut to the 63 characters Kubernetes allows. */}}
{{- define "app.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Dapr app id: dapr.appId when set, the release name otherwise. */}}
{{- define "app.daprAppId" -}}
{{- default (include "app.fullname" .) .Values.dapr.appId -}}
{{- end -}}

{{/* Labels that select the app's pods (never change them: Deployment selectors are immutable). */}}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.fullname" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "app.labels" -}}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: appkit
helm.sh/chart: {{ printf "%s-%s" .Chart.Name (.Chart.Version | replace "+" "_") | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* The image reference: repository@sha256:… when a digest is given, repository:tag otherwise. */}}
{{- define "app.image" -}}
{{- $repo := required "image.repository is required: the registry path of the app's image" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else if .Values.image.tag -}}
{{- printf "%s:%s" $repo (toString .Values.image.tag) -}}
{{- else -}}
{{- $repo -}}
{{- end -}}
{{- end -}}

{{/* A Kubernetes quantity as a string: whole numbers without Go's float notation (2, not 2e+00). */}}
{{- define "app.quantity" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) -}}
{{- int64 . | toString | quote -}}
{{- else -}}
{{- toString . | quote -}}
{{- end -}}
{{- end -}}

{{/* The name of the app's port: grpc for gRPC apps, http otherwise. */}}
{{- define "app.portName" -}}
{{- if has .Values.dapr.protocol (list "grpc" "grpcs") -}}grpc{{- else -}}http{{- end -}}
{{- end -}}

{{/* A readiness/liveness probe handler that fits the app's protocol. */}}
{{- define "app.probeHandler" -}}
{{- $protocol := .Values.dapr.protocol | default "http" -}}
{{- if eq $protocol "grpc" }}
grpc:
  port: {{ .Values.port }}
{{- else if eq $protocol "grpcs" }}
tcpSocket:
  port: {{ .Values.port }}
{{- else }}
httpGet:
  path: {{ .Values.probes.path }}
  port: http
  scheme: {{ if eq $protocol "https" }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}
{{- end -}}

{{/* An int-or-percent value (rollout sizes): a number as an integer, "25%" as a quoted string. */}}
{{- define "app.intOrPercent" -}}
{{- if kindIs "string" . -}}
{{- . | quote -}}
{{- else -}}
{{- int64 . -}}
{{- end -}}
{{- end -}}

{{/*
The Dapr sidecar's GOMEMLIMIT (Go's soft memory limit) for a memory limit: 90 % of it, rounded
down to whole MiB (bytes below 1 MiB), as Dapr's production guidance recommends: the garbage
collector then frees memory before the container reaches its limit and is OOM-killed.
Understands plain bytes (a number or digits) and every Kubernetes suffix (k M G T P E, Ki Mi Gi
Ti Pi Ei), with decimals: 1000Mi -> GOMEMLIMIT=900MiB, 2Gi -> GOMEMLIMIT=1843MiB.
*/}}
{{- define "app.gomemlimit" -}}
{{- $q := . -}}
{{- $bytes := 0.0 -}}
{{- if or (kindIs "float64" $q) (kindIs "int" $q) (kindIs "int64" $q) -}}
{{- $bytes = float64 $q -}}
{{- else -}}
{{- $s := toString $q -}}
{{- $num := regexFind "^([0-9]+(\\.[0-9]+)?|\\.[0-9]+)" $s -}}
{{- $unit := trimPrefix $num $s -}}
{{- $mults := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 "E" 1000000000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 "Ei" 1152921504606846976 -}}
{{- if or (not $num) (not (hasKey $mults $unit)) -}}
{{- fail (printf "dapr.sidecar.resources.limits.memory: %q is not a memory quantity the chart understands (bytes, or a number with k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei, e.g. 1000Mi); the sidecar's GOMEMLIMIT is derived from it" $s) -}}
{{- end -}}
{{- $bytes = mulf (float64 $num) (get $mults $unit) -}}
{{- end -}}
{{- $mib := floor (divf (mulf $bytes 9) 10485760) -}}
{{- if ge $mib 1.0 -}}
{{- printf "GOMEMLIMIT=%dMiB" (int64 $mib) -}}
{{- else -}}
{{- printf "GOMEMLIMIT=%d" (int64 (floor (divf (mulf $bytes 9) 10))) -}}
{{- end -}}
{{- end -}}

{{/*
The namespace of a networkPolicy entry: an app named in platform.appNamespaces (filled by appkit)
becomes its namespace; any other name is a namespace already. Call with (list $ name).
*/}}
{{- define "app.namespaceOf" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $known := $root.Values.platform.appNamespaces | default dict -}}
{{- get $known $name | default $name -}}
{{- end -}}
