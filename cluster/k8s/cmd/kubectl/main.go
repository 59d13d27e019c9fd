// Command kubectl is kubectl at the node's own Kubernetes version, so the client is never more
// than one minor away from the API server (the npm kubectl bootstrap.sh installs is older).
// A binary of its own rather than a component of cmd/kube: it goes into images (argoexec runs it
// for resource templates), where the whole multi-call binary would triple their size.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err) // prints the error the way kubectl does and exits 1
	}
}
