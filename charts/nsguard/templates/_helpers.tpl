{{/*
The chart's name, truncated to 63 characters (a label value's limit).
*/}}
{{- define "nsguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects, truncated to 63 characters (a DNS
label's limit): the release name, with the chart's name appended unless
the release name already contains it.
*/}}
{{- define "nsguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The full name with a suffix, the full name cut so that the whole stays
within 63 characters. Call with (list . "suffix").
*/}}
{{- define "nsguard.suffixed" -}}
{{- $ctx := index . 0 }}
{{- $suffix := index . 1 }}
{{- $base := include "nsguard.fullname" $ctx | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{/* Names of the objects, in one place. */}}
{{- define "nsguard.webhookServiceName" -}}{{ include "nsguard.suffixed" (list . "webhook") }}{{- end }}
{{- define "nsguard.metricsServiceName" -}}{{ include "nsguard.suffixed" (list . "metrics") }}{{- end }}
{{- define "nsguard.certSecretName" -}}{{ include "nsguard.suffixed" (list . "webhook-tls") }}{{- end }}
{{- define "nsguard.certificateName" -}}{{ include "nsguard.suffixed" (list . "webhook") }}{{- end }}
{{- define "nsguard.issuerName" -}}{{ include "nsguard.suffixed" (list . "selfsigned") }}{{- end }}
{{- define "nsguard.configName" -}}{{ include "nsguard.suffixed" (list . "config") }}{{- end }}
{{- define "nsguard.policiesName" -}}{{ include "nsguard.suffixed" (list . "policies") }}{{- end }}
{{- define "nsguard.stateName" -}}{{ include "nsguard.suffixed" (list . "remediator-state") }}{{- end }}
{{- define "nsguard.webhookConfigurationName" -}}{{ include "nsguard.fullname" . }}{{- end }}
{{- define "nsguard.readRoleName" -}}{{ include "nsguard.suffixed" (list . "read") }}{{- end }}
{{- define "nsguard.certsRoleName" -}}{{ include "nsguard.suffixed" (list . "webhook-certs") }}{{- end }}
{{- define "nsguard.remediatorRoleName" -}}{{ include "nsguard.suffixed" (list . "remediator") }}{{- end }}

{{/*
The leader-election Lease, one per release (nsguard serve
--leader-election-id), in the state namespace (the release's).
*/}}
{{- define "nsguard.leaseName" -}}{{ include "nsguard.fullname" . | trunc 52 | trimSuffix "-" }}-remediator{{- end }}

{{/* The ServiceAccount nsguard runs as. */}}
{{- define "nsguard.serviceAccountName" -}}
{{- default (include "nsguard.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* The chart label: name-version, truncated to 63. */}}
{{- define "nsguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select nsguard's pods. */}}
{{- define "nsguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nsguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The standard labels of every object. */}}
{{- define "nsguard.labels" -}}
helm.sh/chart: {{ include "nsguard.chart" . }}
{{ include "nsguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nsguard
{{- end }}

{{/* The image reference: a digest wins over the tag. */}}
{{- define "nsguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Namespaces the webhook never sees: the release's own (so that deleting it
never waits on nsguard), the system ones, and the configured ones.
*/}}
{{- define "nsguard.excludedNamespaces" -}}
{{- $ns := list .Release.Namespace "kube-system" "kube-public" "kube-node-lease" "default" }}
{{- range .Values.config.exclude.namespaces }}
{{- if not (has . $ns) }}{{ $ns = append $ns . }}{{ end }}
{{- end }}
{{- toJson $ns }}
{{- end }}

{{/* Whether the remediator may write (mode on), as "true" or "". */}}
{{- define "nsguard.remediatorWrites" -}}
{{- if and .Values.components.remediator (eq .Values.remediation.mode "on") }}true{{ end }}
{{- end }}
