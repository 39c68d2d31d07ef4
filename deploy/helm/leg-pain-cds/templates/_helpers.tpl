{{/* Names and labels shared by every template. */}}
{{- define "cds.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cds.fullname" -}}
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

{{- define "cds.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cds.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cds.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cds.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "cds.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cds.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cds.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* PostgreSQL (or another server database) is configured: its URL comes from a Secret. */}}
{{- define "cds.serverDatabase" -}}
{{- if or .Values.database.url .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{- define "cds.databaseSecretName" -}}
{{- default (include "cds.fullname" .) .Values.database.existingSecret }}
{{- end }}

{{- define "cds.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{- define "cds.trustedClients" -}}
{{- if or .Values.trustedClients.existingSecret .Values.trustedClients.json }}true{{ end }}
{{- end }}

{{- define "cds.trustedClientsSecretName" -}}
{{- default (include "cds.fullname" .) .Values.trustedClients.existingSecret }}
{{- end }}

{{- define "cds.trustedClientsSecretKey" -}}
{{- if .Values.trustedClients.existingSecret }}{{ .Values.trustedClients.existingSecretKey }}{{ else }}trusted-clients.json{{ end }}
{{- end }}

{{- define "cds.trustedClientsPath" -}}
/etc/leg-pain-cds/trusted-clients/trusted-clients.json
{{- end }}

{{/* The chart's own Secret holds what values gave inline (database.url, trustedClients.json). */}}
{{- define "cds.ownSecret" -}}
{{- if or (and .Values.database.url (not .Values.database.existingSecret)) (and .Values.trustedClients.json (not .Values.trustedClients.existingSecret)) (and .Values.metrics.enabled .Values.metrics.token (not .Values.metrics.existingSecret)) }}true{{ end }}
{{- end }}

{{/*
Checks that stop a release that could not work, with the value to change. Included by the Deployment.
*/}}
{{- define "cds.validate" -}}
{{- $reserved := list "CDS_DATABASE_URL" "CDS_TRUSTED_CLIENTS" "CDS_ALLOWED_FHIR_SERVERS" "CDS_PUBLIC_BASE_URL" "CDS_METRICS" "CDS_METRICS_TOKEN" }}
{{- range $key, $_ := .Values.settings }}
{{- if not (hasPrefix "CDS_" $key) }}
{{- fail (printf "settings.%s: only CDS_* settings belong here (docs/configuration.md)" $key) }}
{{- end }}
{{- if has $key $reserved }}
{{- fail (printf "settings.%s: set by the chart from database.*, trustedClients.*, fhirServers, publicBaseUrl or metrics.*; use those" $key) }}
{{- end }}
{{- end }}
{{- if not (include "cds.serverDatabase" .) }}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- fail "replicaCount > 1 or autoscaling.enabled needs PostgreSQL (database.url or database.existingSecret): with SQLite each pod would have its own database" }}
{{- end }}
{{- end }}
{{- if and (eq (toString (default "jwt" .Values.settings.CDS_AUTH)) "jwt") (not (include "cds.trustedClients" .)) }}
{{- fail "CDS_AUTH=jwt needs the trusted clients file: set trustedClients.json (or trustedClients.existingSecret)" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (include "cds.serverDatabase" .) (not (or .Values.database.cidrs .Values.database.peers)) }}
{{- fail "networkPolicy.enabled: give database.cidrs or database.peers, so that the pods may reach the database" }}
{{- end }}
{{- range .Values.fhirServers }}
{{- if not .url }}{{ fail "fhirServers[]: each entry needs url" }}{{ end }}
{{- if not .cidrs }}{{ fail (printf "fhirServers[] %s: give its addresses (cidrs) so that the NetworkPolicy lets the service reach it" .url) }}{{ end }}
{{- end }}
{{- end }}

{{- define "cds.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
{{- end }}

{{- define "cds.containerEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "cds.fullname" . }}
{{- if or (include "cds.serverDatabase" .) (include "cds.metricsToken" .) }}
env:
  {{- if include "cds.serverDatabase" . }}
  - name: CDS_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "cds.databaseSecretName" . }}
        key: {{ include "cds.databaseSecretKey" . }}
  {{- end }}
  {{- if include "cds.metricsToken" . }}
  - name: CDS_METRICS_TOKEN
    valueFrom:
      secretKeyRef:
        name: {{ default (include "cds.fullname" .) .Values.metrics.existingSecret }}
        key: {{ if .Values.metrics.existingSecret }}{{ .Values.metrics.existingSecretKey }}{{ else }}metrics-token{{ end }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "cds.metricsToken" -}}
{{- if and .Values.metrics.enabled (or .Values.metrics.token .Values.metrics.existingSecret) }}true{{ end }}
{{- end }}

{{- define "cds.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if not (include "cds.serverDatabase" .) }}
- name: data
  mountPath: /data
{{- end }}
{{- if include "cds.trustedClients" . }}
- name: trusted-clients
  mountPath: /etc/leg-pain-cds/trusted-clients
  readOnly: true
{{- end }}
{{- end }}
