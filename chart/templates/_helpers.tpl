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
