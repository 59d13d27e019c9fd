// Command registry is the CNCF Distribution registry's own main, built at the version this
// wrapper module's go.mod pins (a test checks it against REGISTRY_DISTRIBUTION_VERSION in versions.env).
// tests/registrylib.py builds it (CGO_ENABLED=0, cached by version) and runs it on loopback.
package main

import (
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/distribution/distribution/v3/registry"
)

func main() {
	registry.RootCmd.Execute()
}
