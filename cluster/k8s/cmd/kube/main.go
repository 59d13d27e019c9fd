// Command kube is a multi-call binary holding the Kubernetes components the
// local cluster runs. One binary means one link step instead of five, which
// matters on a 2-core machine. The component is chosen by the first argument
// or by the name the binary was invoked as (symlinks), like the old hyperkube.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata" // CronJob time zones

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var components = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kube COMPONENT [flags]  (or invoke through a symlink named after the component)")
	fmt.Fprintln(os.Stderr, "components: kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy")
}

func main() {
	name := filepath.Base(os.Args[0])
	newCmd, ok := components[name]
	if !ok {
		if len(os.Args) < 2 {
			usage()
			os.Exit(2)
		}
		newCmd, ok = components[os.Args[1]]
		if !ok {
			usage()
			os.Exit(2)
		}
		// Drop the component argument so cobra parses only its flags.
		os.Args = append([]string{os.Args[1]}, os.Args[2:]...)
	}
	os.Exit(cli.Run(newCmd()))
}
