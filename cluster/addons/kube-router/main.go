// Command kube-router-netpol is kube-router's network policy controller alone, the way K3s runs it
// (K3s embeds github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol in its agent with
// --run-firewall=true --run-router=false --run-service-proxy=false). It takes kube-router's own flags
// (options.AddFlags) and refuses the router, the service proxy and the load balancer: this binary does
// not link them. It programs the host's iptables (filter table: KUBE-ROUTER-INPUT/FORWARD/OUTPUT,
// KUBE-POD-FW-*, KUBE-NWPLCY-*) and ipsets, so it runs on the node as root, beside kube-proxy.
//
// Health: GET /healthz on --health-addr (loopback) answers 200 while the controller's heartbeats
// arrive, as kube-router's own health port does (its server listens on every interface; this one
// does not). SIGTERM/SIGINT stop it; `local_cluster.sh down` removes its chains and ipsets.
package main

import (
	"context"
	"errors"
	goflag "flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol"
	"github.com/cloudnativelabs/kube-router/v2/pkg/healthcheck"
	"github.com/cloudnativelabs/kube-router/v2/pkg/options"
	"github.com/cloudnativelabs/kube-router/v2/pkg/version"
	"github.com/spf13/pflag"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kube-router-netpol: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := options.NewKubeRouterConfig()
	fs := pflag.NewFlagSet("kube-router-netpol", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	klogFlags := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(klogFlags)  // --logtostderr, ... as kube-router's own main offers them
	fs.AddGoFlagSet(klogFlags) // (kube-router's own --v, a string, wins; it is passed on below)
	healthAddr := fs.String("health-addr", "127.0.0.1:20244", "host:port of the /healthz endpoint (loopback)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if err := klogFlags.Set("v", cfg.VLevel); err != nil {
		return fmt.Errorf("--v %q: %w", cfg.VLevel, err)
	}
	if cfg.HelpRequested {
		fs.PrintDefaults()
		return nil
	}
	if cfg.Version {
		fmt.Printf("kube-router-netpol %s (network policy controller only), %s\n", version.Version, runtime.Version())
		return nil
	}
	if !cfg.RunFirewall || cfg.RunRouter || cfg.RunServiceProxy || cfg.RunLoadBalancer {
		return errors.New("only the network policy controller is built in: pass --run-firewall=true " +
			"--run-router=false --run-service-proxy=false (and no --run-loadbalancer)")
	}
	if !cfg.EnableIPv4 || cfg.EnableIPv6 {
		return errors.New("this node is IPv4 only: --enable-ipv4=true --enable-ipv6=false")
	}
	// kube-router's own health server (RunServer) would listen on every interface: ours is loopback only.
	cfg.HealthPort = 0
	cfg.MetricsEnabled = false

	restCfg, err := clientcmd.BuildConfigFromFlags(cfg.Master, cfg.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %q: %w", cfg.Kubeconfig, err)
	}
	restCfg.Timeout = 30 * time.Second
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	factory := informers.NewSharedInformerFactory(client, 0)
	podInformer := factory.Core().V1().Pods().Informer()
	nsInformer := factory.Core().V1().Namespaces().Informer()
	npInformer := factory.Networking().V1().NetworkPolicies().Informer()
	factory.Start(ctx.Done())
	syncCtx, cancelSync := context.WithTimeout(ctx, cfg.CacheSyncTimeout)
	defer cancelSync()
	for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			return fmt.Errorf("the %v informer did not sync within %v", typ, cfg.CacheSyncTimeout)
		}
	}

	iptHandlers, ipsetHandlers, err := netpol.NewIPTablesHandlers(cfg)
	if err != nil {
		return err
	}
	npc, err := netpol.NewNetworkPolicyController(client, cfg, podInformer, npInformer, nsInformer,
		&sync.Mutex{}, iptHandlers, ipsetHandlers)
	if err != nil {
		return fmt.Errorf("network policy controller: %w", err)
	}

	hc, err := healthcheck.NewHealthController(cfg)
	if err != nil {
		return err
	}
	hc.SetAlive()
	var wg sync.WaitGroup
	healthCh := make(chan *healthcheck.ControllerHeartbeat, 10)
	wg.Add(1)
	go hc.RunCheck(healthCh, ctx.Done(), &wg)

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", hc.Handler)
	srv := &http.Server{Addr: *healthAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.ListenAndServe() }()

	podInformer.AddEventHandler(npc.PodEventHandler)
	nsInformer.AddEventHandler(npc.NamespaceEventHandler)
	npInformer.AddEventHandler(npc.NetworkPolicyEventHandler)
	klog.Infof("starting kube-router %s network policy controller (only), %s", version.Version, runtime.Version())
	wg.Add(1)
	go npc.Run(healthCh, ctx.Done(), &wg)

	select {
	case <-ctx.Done():
	case err := <-srvErr:
		stop()
		wg.Wait()
		return fmt.Errorf("health endpoint %s: %w", *healthAddr, err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	wg.Wait()
	return nil
}
