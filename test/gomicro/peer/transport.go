package main

// The --transport flag of `peer server`, `peer call` and `peer proto-call`: grpc (go-micro's gRPC
// server and client, the default of these tests) or http, go-micro's own defaults —
// server.NewRPCServer and client.NewClient on transport.NewHTTPTransport, the mucp protocol a
// go-micro service started with no flags speaks.

import (
	"flag"
	"fmt"
	"time"

	"go-micro.dev/v5/client"
	grpcclient "go-micro.dev/v5/client/grpc"
	"go-micro.dev/v5/server"
	grpcserver "go-micro.dev/v5/server/grpc"
	"go-micro.dev/v5/transport"
)

func transportFlag(fs *flag.FlagSet) *string {
	return fs.String("transport", "grpc", "grpc (go-micro's gRPC server/client) or http (go-micro's defaults: rpc server/client, HTTP transport, mucp)")
}

func newServer(tr string, opts ...server.Option) (server.Server, error) {
	switch tr {
	case "grpc":
		return grpcserver.NewServer(opts...), nil
	case "http":
		return server.NewRPCServer(append(opts, server.Transport(transport.NewHTTPTransport()))...), nil
	}
	return nil, fmt.Errorf("--transport: expected grpc or http, got %q", tr)
}

// newClient makes the client; timeout is the call's budget. go-micro's rpc client puts its
// ConnectionTimeout (not the request timeout) in the `Timeout` header a server takes its
// deadline from, so for http the budget is set as both, as a go-micro user wanting a deadline
// to cross the wire does.
func newClient(tr string, timeout time.Duration, opts ...client.Option) (client.Client, error) {
	opts = append(opts, client.RequestTimeout(timeout))
	switch tr {
	case "grpc":
		return grpcclient.NewClient(opts...), nil
	case "http":
		return client.NewClient(append(opts,
			client.Transport(transport.NewHTTPTransport()),
			client.ConnectionTimeout(timeout))...), nil
	}
	return nil, fmt.Errorf("--transport: expected grpc or http, got %q", tr)
}
