package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"go-micro.dev/v5/broker"
	"go-micro.dev/v5/broker/nats"
	"go-micro.dev/v5/errors"
	"go-micro.dev/v5/metadata"
	"go-micro.dev/v5/server"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Greeter is the handler the go-micro server exposes. Its messages are protobuf well-known types,
// so the proto codec (plain `application/grpc`, what @grpc/grpc-js sends) and the JSON codec
// (protojson) both decode them without a protoc step.
type Greeter struct{ name string }

// Hello echoes the request and reports what the handler saw: its metadata and the deadline budget
// left in ms, so a caller can check what crossed the wire.
func (g *Greeter) Hello(ctx context.Context, req *structpb.Struct, rsp *structpb.Struct) error {
	md := map[string]any{}
	if m, ok := metadata.FromContext(ctx); ok {
		for k, v := range m {
			md[k] = v
		}
	}
	budget := -1.0
	if d, ok := ctx.Deadline(); ok {
		budget = float64(time.Until(d).Milliseconds())
	}
	out, err := structpb.NewStruct(map[string]any{
		"server":   g.name,
		"request":  req.AsMap(),
		"metadata": md,
		"budgetMs": budget,
	})
	if err != nil {
		return errors.InternalServerError(g.name, "building reply: %v", err)
	}
	rsp.Fields = out.Fields // not *rsp = *out: proto messages must not be copied
	return nil
}

// Upper answers the value upper-cased (a minimal proto round trip).
func (g *Greeter) Upper(ctx context.Context, req *wrapperspb.StringValue, rsp *wrapperspb.StringValue) error {
	rsp.Value = fmt.Sprintf("%s from %s", upper(req.Value), g.name)
	return nil
}

// Fail always answers a go-micro error: 409 Conflict whose detail carries the request value.
func (g *Greeter) Fail(ctx context.Context, req *wrapperspb.StringValue, rsp *wrapperspb.StringValue) error {
	return errors.Conflict(g.name+".fail", "refused %s", req.Value)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// runServer starts a go-micro gRPC server registered in Consul and serves until SIGTERM/SIGINT
// or stdin closes (the test process died), then deregisters and stops.
func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	consulAddr := fs.String("consul", "127.0.0.1:8500", "Consul HTTP address")
	regKind := fs.String("registry", "consul", "consul, or mdns: go-micro's default registry (registry.go)")
	name := fs.String("name", "gomicro.peer", "service name")
	version := fs.String("version", "latest", "service version")
	address := fs.String("address", "127.0.0.1:0", "listen address; the host is also what is advertised")
	meta := fs.String("meta", "", "node metadata k=v,...")
	ttl := fs.Duration("ttl", 30*time.Second, "registration TTL")
	natsURL := fs.String("nats", "", "NATS URL for go-micro's NATS broker (with --subscribe)")
	topic := fs.String("subscribe", "", "a server subscriber on this topic, printing each event")
	protoHandler := fs.Bool("proto", false, "serve helloworld.Greeter from test/protos/helloworld.proto (proto.go)")
	tr := transportFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	md, err := pairs(*meta)
	if err != nil {
		return err
	}
	reg, err := chooseRegistry(*regKind, *consulAddr)
	if err != nil {
		return err
	}
	opts := []server.Option{
		server.Name(*name),
		server.Version(*version),
		// An explicit loopback host: an empty one makes go-micro advertise a LAN address.
		server.Address(*address),
		server.Registry(reg),
		server.Metadata(md),
		server.RegisterTTL(*ttl),
		server.RegisterInterval(*ttl / 3),
	}
	if *natsURL != "" {
		opts = append(opts, server.Broker(nats.NewNatsBroker(broker.Addrs(*natsURL))))
	}
	srv, err := newServer(*tr, opts...)
	if err != nil {
		return err
	}
	if *protoHandler {
		if err := protoServerHandler(srv, *name); err != nil {
			return err
		}
	} else if err := srv.Handle(srv.NewHandler(&Greeter{name: *name})); err != nil {
		return err
	}
	if *topic != "" {
		// A go-micro server subscriber: the gRPC server decodes the body with the codec its
		// Content-Type names and hands the other headers over as metadata.
		sub := srv.NewSubscriber(*topic, func(ctx context.Context, ev *structpb.Struct) error {
			md, _ := metadata.FromContext(ctx)
			// Probes (see runSubscribe) are how a publisher learns the SUB reached the server.
			if md["probe"] != "" || md["Probe"] != "" {
				emit(map[string]any{"event": "probe", "topic": *topic})
				return nil
			}
			emit(map[string]any{"event": "subscriber", "topic": *topic, "body": ev.AsMap(), "metadata": md})
			return nil
		})
		if err := srv.Subscribe(sub); err != nil {
			return err
		}
	}
	if err := srv.Start(); err != nil {
		return err
	}
	sopts := srv.Options()
	svcs, err := reg.GetService(*name)
	if err != nil {
		return fmt.Errorf("own registration not found in %s: %w", reg, err)
	}
	var nodes []string
	for _, s := range svcs {
		for _, n := range s.Nodes {
			nodes = append(nodes, n.Id)
		}
	}
	sort.Strings(nodes)
	emit(map[string]any{"event": "ready", "address": sopts.Address, "id": sopts.Name + "-" + sopts.Id, "nodes": nodes})

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	stdinClosed := make(chan struct{})
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := os.Stdin.Read(buf); err != nil {
				close(stdinClosed)
				return
			}
		}
	}()
	select {
	case <-stop:
	case <-stdinClosed:
	}
	err = srv.Stop() // deregisters, then stops gracefully
	emit(map[string]any{"event": "stopped"})
	return err
}
