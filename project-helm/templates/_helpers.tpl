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
  prefixes: [/orders, /admin/orders, /admin/audit]
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
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: shop
app.kubernetes.io/version: {{ include "shop.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The version deployed: the image's tag, or the chart's appVersion when no tag is given. */}}
{{- define "shop.version" -}}
{{- .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The image of the six services: by digest when one is given, else by tag. */}}
{{- define "shop.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
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

{{/* The Secret with the database credentials: with the chart's PostgreSQL, its superuser's
and each service role's password (`postgres-password`, `user-svc-password`, …); with an
external database, each service's URL (`user-svc`, …). */}}
{{- define "shop.databaseSecretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- .Values.postgresql.existingSecret | default (printf "%s-databases" (include "shop.fullname" .)) -}}
{{- else if .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- else -}}
{{- printf "%s-databases" (include "shop.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The role and database of a service on the chart's PostgreSQL; call with (list $ service). */}}
{{- define "shop.role" -}}
{{- printf "%s_%s" (index . 0).Values.postgresql.databasePrefix (index . 1).short -}}
{{- end -}}

{{/*
Every credential the chart generates, made once per render and shared by every template that
asks (so that each Deployment's checksum agrees with the Secrets it reads), as YAML. Each value
is taken from `credentials` in the values, else kept from the Secret already in the cluster
(lookup), else generated — only by a render that reaches the cluster: `helm template`, as Argo
CD renders, would invent new credentials on every refresh (passwords the database roles do not
have, a signing key that voids every token), so it fails instead and says what to set. An
upgrade that finds the Secret gone fails too. With secrets.existingSecret or
postgresql.existingSecret the chart generates none of theirs.
*/}}
{{- define "shop.credentials" -}}
{{- if not (hasKey . "shopCredentials") -}}
{{- $creds := dict -}}
{{- $cluster := or (lookup "v1" "Namespace" "" .Release.Namespace) (lookup "v1" "Namespace" "" "kube-system") | empty | not -}}
{{- if not .Values.secrets.existingSecret -}}
{{- $name := include "shop.secretName" . -}}
{{- $found := (lookup "v1" "Secret" .Release.Namespace $name).data | default dict -}}
{{- $_ := set $creds "internal-token" (include "shop.credential" (list . $found $name "internal-token" $cluster)) -}}
{{- $_ := set $creds "admin-password" (include "shop.credential" (list . $found $name "admin-password" $cluster)) -}}
{{- $_ := set $creds "jwt-signing-key" (include "shop.credential" (list . $found $name "jwt-signing-key" $cluster)) -}}
{{- end -}}
{{- if and .Values.postgresql.enabled (not .Values.postgresql.existingSecret) -}}
{{- $name := include "shop.databaseSecretName" . -}}
{{- $found := (lookup "v1" "Secret" .Release.Namespace $name).data | default dict -}}
{{- $_ := set $creds "postgres-password" (include "shop.credential" (list . $found $name "postgres-password" $cluster)) -}}
{{- range (include "shop.services" . | fromYamlArray) -}}
{{- $key := printf "%s-password" .name -}}
{{- $_ := set $creds $key (include "shop.credential" (list $ $found $name $key $cluster)) -}}
{{- end -}}
{{- end -}}
{{- $_ := set . "shopCredentials" $creds -}}
{{- end -}}
{{- toYaml .shopCredentials -}}
{{- end -}}

{{/* One given, kept or generated credential; call with (list $ foundData secretName key clusterReached). */}}
{{- define "shop.credential" -}}
{{- $root := index . 0 -}}
{{- $found := index . 1 -}}
{{- $key := index . 3 -}}
{{- if hasKey $root.Values.credentials $key -}}
{{- index $root.Values.credentials $key -}}
{{- else if hasKey $found $key -}}
{{- index $found $key | b64dec -}}
{{- else if not (index . 4) -}}
{{- fail (printf "this render cannot reach the cluster (helm template, Argo CD), so the chart will not generate %s: generated here it would change on every render and lock the services out of their database. Keep the credentials in Secrets of your own (secrets.existingSecret, postgresql.existingSecret) or give them in credentials; see docs/operations.md#gitops" $key) -}}
{{- else if $root.Release.IsUpgrade -}}
{{- fail (printf "upgrade without the Secret %s (key %s): it is not in the cluster. Generating it again would lock the services out of their database and void every token: restore it, or keep the credentials in Secrets of your own (secrets.existingSecret, postgresql.existingSecret); see docs/operations.md#gitops" (index . 2) $key) -}}
{{- else if eq $key "jwt-signing-key" -}}
{{- genPrivateKey "ed25519" -}}
{{- else if eq $key "internal-token" -}}
{{- randAlphaNum 48 -}}
{{- else if eq $key "admin-password" -}}
{{- randAlphaNum 24 -}}
{{- else -}}
{{- randAlphaNum 32 -}}
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

{{- define "shop.instance" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}


{{/* A service's database settings as container env; call with (list $ service). */}}
{{- define "shop.databaseEnv" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- if $root.Values.postgresql.enabled -}}
{{- $role := include "shop.role" (list $root $svc) }}
- name: {{ $svc.env }}_DATABASE_URL
  value: {{ printf "postgres://%s@%s:5432/%s" $role (include "shop.postgresql" $root) $role | quote }}
- name: {{ $svc.env }}_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "shop.databaseSecretName" $root }}
      key: {{ $svc.name }}-password
{{- else }}
- name: {{ $svc.env }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "shop.databaseSecretName" $root }}
      key: {{ $svc.name }}
{{- end -}}
{{- end -}}

{{/*
A network policy's peer outside the release: by namespace and pod labels when the selector
names a namespace (inside the cluster: CNIs such as Cilium never match pod addresses with an
ipBlock), else the CIDR. Takes (list CIDR SELECTOR).
*/}}
{{- define "shop.peer" -}}
{{- $cidr := index . 0 }}
{{- $selector := index . 1 }}
{{- if $selector.namespace }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ $selector.namespace }}
  {{- with $selector.podLabels }}
  podSelector:
    matchLabels:
      {{- toYaml . | nindent 6 }}
  {{- end }}
{{- else }}
- ipBlock:
    cidr: {{ $cidr }}
{{- end }}
{{- end }}

{{/* The Argo CD sync wave of an object when argocd.syncWaves is on, as an annotation line; call
with (list $ wave). */}}
{{- define "shop.wave" -}}
{{- if (index . 0).Values.argocd.syncWaves -}}
argocd.argoproj.io/sync-wave: {{ index . 1 | quote }}
{{- end -}}
{{- end -}}
