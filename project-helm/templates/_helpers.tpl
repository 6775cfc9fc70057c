{{/*
The shop's topology, as in shop-kit/src/topology.rs: each service's values key, name, short
name, environment prefix, port, public path prefixes, and whom it calls. CI checks the rendered
Ingresses against the services' live OpenAPI specs, so the two cannot drift apart.
*/}}
{{- define "shop.services" -}}
- key: userSvc
  name: user-svc
  short: user
  env: USER_SVC
  port: 8081
  prefixes: [/users, /auth]
  calls: [payment-svc]
- key: orderSvc
  name: order-svc
  short: order
  env: ORDER_SVC
  port: 8082
  prefixes: [/orders, /admin/orders]
  calls: [payment-svc, stock-svc, delivery-svc, notify-svc]
- key: paymentSvc
  name: payment-svc
  short: payment
  env: PAYMENT_SVC
  port: 8083
  prefixes: [/balance]
  calls: []
- key: stockSvc
  name: stock-svc
  short: stock
  env: STOCK_SVC
  port: 8084
  prefixes: [/products]
  calls: []
- key: deliverySvc
  name: delivery-svc
  short: delivery
  env: DELIVERY_SVC
  port: 8085
  prefixes: [/couriers, /deliveries]
  calls: []
- key: notifySvc
  name: notify-svc
  short: notify
  env: NOTIFY_SVC
  port: 8086
  prefixes: [/messages]
  calls: []
{{- end -}}

{{- define "shop.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; those with a selector add "shop.selector", the others "shop.instance". */}}
{{- define "shop.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: shop
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component; call with (list $ "order-svc"). */}}
{{- define "shop.selector" -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
{{- end -}}

{{/* The Secret with the internal token, the signing key and the admin password. */}}
{{- define "shop.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "shop.fullname" .)) -}}
{{- end -}}

{{/* The Secret with each service's database URL. */}}
{{- define "shop.databaseSecretName" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- else -}}
{{- printf "%s-databases" (include "shop.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The in-cluster URL of a service; call with (list $ "payment-svc"). */}}
{{- define "shop.url" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- range (include "shop.services" $root | fromYamlArray) -}}
{{- if eq .name $name -}}
http://{{ include "shop.fullname" $root }}-{{ .name }}:{{ .port }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Whether a service can run more than one replica; call with its values. */}}
{{- define "shop.multiReplica" -}}
{{- if or (and .autoscaling.enabled (gt (int .autoscaling.maxReplicas) 1)) (and (not .autoscaling.enabled) (gt (int .replicaCount) 1)) -}}
true
{{- end -}}
{{- end -}}

{{- define "shop.postgresql" -}}
{{- printf "%s-postgresql" (include "shop.fullname" .) -}}
{{- end -}}

{{/* A generated secret value kept across upgrades; call with (list $ secretName key length). */}}
{{- define "shop.keep" -}}
{{- $root := index . 0 -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace (index . 1) -}}
{{- if and $existing (hasKey $existing.data (index . 2)) -}}
{{- index $existing.data (index . 2) | b64dec -}}
{{- else -}}
{{- randAlphaNum (int (index . 3)) -}}
{{- end -}}
{{- end -}}

{{- define "shop.instance" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
