# shellcheck shell=bash
# metrics-server: the metrics.k8s.io API behind `kubectl top`. Needs the API server's aggregation
# layer (front-proxy CA and client certificate: see cluster/pki/pki.sh and cluster/apiserver/apiserver.sh).
#            name           versions.env key       module
addon_define metrics-server METRICS_SERVER_VERSION sigs.k8s.io/metrics-server \
  sigs.k8s.io/metrics-server/cmd/metrics-server metrics-server cogniverse/metrics-server 1000
# package                                     binary         image                     uid

# metrics-server stamps its version into client-go's version package (its Makefile does the same).
metrics_server_ldflags() {
  local v
  v="$(addon_version metrics-server)"
  echo "-X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.buildDate=1970-01-01T00:00:00Z"
}

metrics_server_wait() {
  addon_rollout metrics-server
  wait_for "APIService v1beta1.metrics.k8s.io available" \
    kc wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=2s
}
