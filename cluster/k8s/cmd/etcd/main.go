// Command etcd is etcd's own server main, built at the version that the pinned
// Kubernetes module graph selects (go.etcd.io/etcd/server/v3).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
