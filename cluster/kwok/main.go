// Command kwok is the KWOK controller (sigs.k8s.io/kwok), built at the version this wrapper module's
// go.mod pins (KWOK_VERSION in versions.env; tests/test_kwok.py checks the copy). It keeps simulated
// nodes and their pods alive on the offline cluster for the `scale` tests (tests/scale/): heartbeats
// and leases, Ready conditions, pod IPs and phases.
//
// `kwok default-stages` prints upstream's own default stages (the ones kwokctl configures: node
// initialize, node heartbeat with lease, pod ready/complete/delete) for `kwok --config FILE`; the
// controller itself refuses to start without stages.
// Built by cogniverse_chart.gobuild (niced, CGO off, cached under ~/.cache/cogniverse/kwok/).
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodelease "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "default-stages" {
		stages := []string{nodefast.DefaultNodeInit, nodelease.DefaultNodeHeartbeatWithLease,
			podfast.DefaultPodReady, podfast.DefaultPodComplete, podfast.DefaultPodDelete}
		for i, s := range stages {
			stages[i] = strings.TrimSpace(s)
		}
		fmt.Println(strings.Join(stages, "\n---\n"))
		return
	}
	// The global flags (--config, -v) are parsed before the command's own, as upstream's main does.
	global := pflag.NewFlagSet("global", pflag.ContinueOnError)
	global.ParseErrorsAllowlist.UnknownFlags = true
	global.Usage = func() {}

	ctx := signals.SetupSignalContext()
	ctx, logger := log.InitFlags(ctx, global)
	ctx, err := config.InitFlags(ctx, global)
	if err != nil {
		_, _ = os.Stderr.Write([]byte(global.FlagUsages()))
		logger.Error("reading --config", "err", err)
		os.Exit(1)
	}
	root := cmd.NewCommand(ctx)
	root.PersistentFlags().AddFlagSet(global)
	if err := root.ExecuteContext(ctx); err != nil {
		logger.Error("kwok stopped", "err", err)
		os.Exit(1)
	}
}
