// Command peer is a real go-micro v5 process that tsmicro's interoperability tests run against.
// It is not a library: each mode does one thing a go-micro service does in production and reports
// what happened as JSON lines on stdout, so a test can compare every field exactly.
//
//	peer server    --consul 127.0.0.1:8500 --name NAME [--version V] [--meta k=v,...]
//	               [--nats URL --subscribe TOPIC] [--proto]
//	peer call      --consul 127.0.0.1:8500 --service NAME --endpoint Greeter.Hello --body JSON
//	               [--content-type application/json] [--metadata k=v,...] [--timeout 5s]
//	peer proto-call --consul 127.0.0.1:8500 --service NAME --rpc SayHello --body JSON
//	peer publish   --nats nats://127.0.0.1:4222 --topic T --count N [--header k=v,...]
//	               [--consul ADDR --linger 30s: go-micro's HTTP broker on Consul instead]
//	peer subscribe --nats nats://127.0.0.1:4222 --topic T --count N [--wait 60s] [--consul ADDR]
//	peer event     --nats nats://127.0.0.1:4222 --topic T --body JSON [--metadata k=v,...]
//	peer registry  list|get ...: what go-micro's default (mDNS) registry sees (registry.go)
//
// server and call take -registry mdns for go-micro's default registry instead of Consul.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: peer server|call|proto-call|publish|subscribe|event [flags]")
	}
	var err error
	switch mode, args := os.Args[1], os.Args[2:]; mode {
	case "server":
		err = runServer(args)
	case "call":
		err = runCall(args)
	case "proto-call":
		err = runProtoCall(args)
	case "publish":
		err = runPublish(args)
	case "subscribe":
		err = runSubscribe(args)
	case "event":
		err = runEvent(args)
	case "registry":
		err = runRegistry(args)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fail(err.Error())
	}
}

var outMu sync.Mutex

// emit writes one JSON line to stdout; lines from several goroutines never interleave.
func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fail("encoding output: " + err.Error())
	}
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "peer:", msg)
	os.Exit(2)
}

// pairs parses "k=v,k2=v2" (empty string → empty map). Values may not contain commas, which
// the tests never need.
func pairs(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("expected k=v, got %q", kv)
		}
		out[k] = v
	}
	return out, nil
}
