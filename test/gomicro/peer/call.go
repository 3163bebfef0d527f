package main

import (
	"context"
	"encoding/json"
	"flag"
	"time"

	"go-micro.dev/v5/client"
	"go-micro.dev/v5/errors"
	"go-micro.dev/v5/metadata"
	"go-micro.dev/v5/selector"
)

// runCall calls one endpoint of a service found through Consul with go-micro's gRPC client and
// prints `{"ok":true,"response":...}` or `{"ok":false,"error":{id,code,detail,status}}` per call.
func runCall(args []string) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	consulAddr := fs.String("consul", "127.0.0.1:8500", "Consul HTTP address")
	regKind := fs.String("registry", "consul", "consul, or mdns: go-micro's default registry (registry.go)")
	service := fs.String("service", "", "service name")
	endpoint := fs.String("endpoint", "Greeter.Hello", "Handler.Method")
	body := fs.String("body", "{}", "request body, any JSON value")
	contentType := fs.String("content-type", "application/json", "go-micro content type")
	md := fs.String("metadata", "", "call metadata k=v,...")
	timeout := fs.Duration("timeout", 5*time.Second, "request timeout (go-micro sends it as `timeout` ns)")
	count := fs.Int("count", 1, "how many calls")
	tr := transportFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	meta, err := pairs(*md)
	if err != nil {
		return err
	}
	reg, err := chooseRegistry(*regKind, *consulAddr)
	if err != nil {
		return err
	}
	c, err := newClient(*tr, *timeout,
		client.Registry(reg),
		client.Selector(selector.NewSelector(selector.Registry(reg))),
		client.Retries(0),
	)
	if err != nil {
		return err
	}
	for i := 0; i < *count; i++ {
		var req any
		if err := json.Unmarshal([]byte(*body), &req); err != nil {
			return err
		}
		ctx := metadata.NewContext(context.Background(), meta)
		var rsp any
		r := c.NewRequest(*service, *endpoint, req, client.WithContentType(*contentType))
		if err := c.Call(ctx, r, &rsp); err != nil {
			e := errors.FromError(err)
			emit(map[string]any{"ok": false, "error": map[string]any{"id": e.Id, "code": e.Code, "detail": e.Detail, "status": e.Status}})
			continue
		}
		emit(map[string]any{"ok": true, "response": rsp})
	}
	return nil
}
