package main

import (
	"flag"
	"fmt"
	"sort"
	"time"

	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/registry/consul"
)

// chooseRegistry is what the -registry flag of server and call selects: "consul" (at consulAddr)
// or "mdns", go-micro's default registry (registry.DefaultRegistry, its mDNS registry, what a
// go-micro service started with no flags uses).
func chooseRegistry(kind, consulAddr string) (registry.Registry, error) {
	switch kind {
	case "consul":
		return consul.NewConsulRegistry(registry.Addrs(consulAddr)), nil
	case "mdns":
		return registry.DefaultRegistry, nil
	default:
		return nil, fmt.Errorf("-registry: expected consul or mdns, got %q", kind)
	}
}

// runRegistry prints what go-micro's default (mDNS) registry sees, as one JSON line:
//
//	peer registry list [--want NAME]            {"services":[{"name":...}]}
//	peer registry get --service NAME [--nodes N] {"services":[{name,version,metadata,endpoints,nodes}]}
//
// It asks again (go-micro's lookup waits 100 ms) until the answer holds --want / N nodes of the
// service or --wait passes, then prints the last answer either way: the test judges it.
func runRegistry(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: peer registry list|get [flags]")
	}
	fs := flag.NewFlagSet("registry "+args[0], flag.ContinueOnError)
	service := fs.String("service", "", "service name (get)")
	want := fs.String("want", "", "list: ask until this name is listed")
	nodes := fs.Int("nodes", 1, "get: ask until the service has this many nodes (0: until it has none)")
	wait := fs.Duration("wait", 30*time.Second, "give up asking after this long")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	reg := registry.DefaultRegistry
	deadline := time.Now().Add(*wait)
	for i := 0; ; i++ {
		var services []*registry.Service
		var err error
		done := false
		switch args[0] {
		case "list":
			services, err = reg.ListServices()
			for _, s := range services {
				done = done || s.Name == *want
			}
		case "get":
			services, err = reg.GetService(*service)
			n := 0
			for _, s := range services {
				n += len(s.Nodes)
			}
			done = n == *nodes
		default:
			return fmt.Errorf("unknown registry mode %q", args[0])
		}
		if err != nil {
			return err
		}
		if done || i >= 1000 || time.Now().After(deadline) {
			sort.Slice(services, func(a, b int) bool { return services[a].Name < services[b].Name })
			emit(map[string]any{"services": services, "attempts": i + 1})
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}
