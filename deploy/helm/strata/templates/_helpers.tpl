{{- define "strata.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "strata.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "strata.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "strata.secretName" -}}
{{- default (printf "%s-secret" (include "strata.fullname" .)) .Values.secret.existingSecret -}}
{{- end -}}

{{/* Environment shared by every Strata container: the config file and the Secret's connection strings. */}}
{{- define "strata.env" -}}
- name: STRATA_CONFIG
  value: /etc/strata/strata.yaml
- name: STRATA_POSTGRES_URL
  valueFrom: { secretKeyRef: { name: {{ include "strata.secretName" . }}, key: STRATA_POSTGRES_URL } }
- name: STRATA_REDIS_URL
  valueFrom: { secretKeyRef: { name: {{ include "strata.secretName" . }}, key: STRATA_REDIS_URL } }
- name: STRATA_API_KEYS
  valueFrom: { secretKeyRef: { name: {{ include "strata.secretName" . }}, key: STRATA_API_KEYS, optional: true } }
# The read replica of training sets (offline.readUrl); absent from the Secret: every read on the primary.
- name: STRATA_OFFLINE_READ_URL
  valueFrom: { secretKeyRef: { name: {{ include "strata.secretName" . }}, key: STRATA_OFFLINE_READ_URL, optional: true } }
{{- end -}}

{{- define "strata.volumes" -}}
- name: config
  configMap: { name: {{ include "strata.fullname" . }}-config }
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "strata.volumeMounts" -}}
- name: config
  mountPath: /etc/strata
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "strata.probes" -}}
readinessProbe:
  httpGet: { path: /health, port: http }
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
livenessProbe:
  httpGet: { path: /health, port: http }
  initialDelaySeconds: 20
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 6
{{- end -}}
