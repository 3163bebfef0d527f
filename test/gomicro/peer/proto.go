package main

// The peer's half of the "from .proto" interop: test/protos/helloworld.proto (and shapes.proto)
// served and called through the code protoc-gen-go and protoc-gen-micro generate, as a go-micro
// user does. That code is not committed: .ci/gomicro.sh generates it into gen/ (buf.gen.yaml) in a
// copy of these sources, at build time, so this file only builds there.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go-micro.dev/v5/client"
	microerrors "go-micro.dev/v5/errors"
	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/registry/consul"
	"go-micro.dev/v5/selector"
	"go-micro.dev/v5/server"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tsmicro.local/gomicropeer/gen/helloworld"
	"tsmicro.local/gomicropeer/gen/shapes"
)

// protoGreeter implements the generated GreeterHandler. Each answer is computed from every field
// of the request, so a field that crossed wrongly shows in the reply.
type protoGreeter struct{ name string }

// SayHello adds one to visits (int64 arithmetic: exact beyond 2^53), and turns the mood over.
func (g *protoGreeter) SayHello(ctx context.Context, req *helloworld.HelloRequest, rsp *helloworld.HelloReply) error {
	rsp.Message = fmt.Sprintf("hello %s from %s [%s]", req.Name, g.name, strings.Join(req.Tags, ","))
	rsp.Visits = req.Visits + 1
	rsp.Mood = helloworld.Mood_HAPPY
	if req.Mood == helloworld.Mood_HAPPY {
		rsp.Mood = helloworld.Mood_GRUMPY
	}
	return nil
}

// Countdown streams from, from-1, ..., 1.
func (g *protoGreeter) Countdown(ctx context.Context, req *helloworld.CountRequest, stream helloworld.Greeter_CountdownStream) error {
	if req.From < 0 {
		return microerrors.BadRequest(g.name, "from must not be negative, got %d", req.From)
	}
	for n := req.From; n >= 1; n-- {
		if err := stream.Send(&helloworld.CountReply{N: n}); err != nil {
			return err
		}
	}
	return nil
}

// Sum adds every number the caller streams, then answers once.
func (g *protoGreeter) Sum(ctx context.Context, stream helloworld.Greeter_SumStream) error {
	var total int64
	var count int32
	for {
		n, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		total += n.Value
		count++
	}
	return stream.SendMsg(&helloworld.SumReply{Total: total, Count: count})
}

// Chat answers each message with its seq doubled.
func (g *protoGreeter) Chat(ctx context.Context, stream helloworld.Greeter_ChatStream) error {
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&helloworld.ChatMessage{Seq: m.Seq * 2, Text: m.Text}); err != nil {
			return err
		}
	}
}

// shapesEcho answers its request: Shapes is served so that its endpoint, with every kind of
// field, is in the registry for the tests to compare.
type shapesEcho struct{}

func (shapesEcho) Echo(ctx context.Context, req *shapes.Outer, rsp *shapes.Outer) error {
	proto.Merge(rsp, req)
	return nil
}

// protoServerHandler is what `peer server --proto` registers instead of the well-known-type
// Greeter: both are named Greeter, as the generated wrapper is named after the proto service.
func protoServerHandler(srv server.Server, name string) error {
	if err := helloworld.RegisterGreeterHandler(srv, &protoGreeter{name: name}); err != nil {
		return err
	}
	return shapes.RegisterShapesHandler(srv, shapesEcho{})
}

// runProtoCall calls one rpc of helloworld.Greeter through the generated client
// (NewGreeterService) and prints `{"ok":true,"responses":[...]}`, each message as protojson
// with every field (int64 as a string, enums by name, as the proto codec's objects), or
// `{"ok":false,"error":{...}}`.
//
//	peer proto-call --consul ADDR --service NAME --rpc SayHello|Countdown|Sum --body JSON
//
// The body is one message for SayHello and Countdown, a JSON array of messages for Sum.
func runProtoCall(args []string) error {
	fs := flag.NewFlagSet("proto-call", flag.ContinueOnError)
	consulAddr := fs.String("consul", "127.0.0.1:8500", "Consul HTTP address")
	service := fs.String("service", "", "service name")
	rpc := fs.String("rpc", "SayHello", "SayHello, Countdown or Sum")
	body := fs.String("body", "{}", "request message(s) as protojson")
	timeout := fs.Duration("timeout", 10*time.Second, "request timeout")
	tr := transportFlag(fs)
	contentType := fs.String("content-type", "", "the client's content type (go-micro's default: application/json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg := consul.NewConsulRegistry(registry.Addrs(*consulAddr))
	copts := []client.Option{
		client.Registry(reg),
		client.Selector(selector.NewSelector(selector.Registry(reg))),
		client.Retries(0),
	}
	if *contentType != "" {
		copts = append(copts, client.ContentType(*contentType))
	}
	c, err := newClient(*tr, *timeout, copts...)
	if err != nil {
		return err
	}
	greeter := helloworld.NewGreeterService(*service, c)
	ctx := context.Background()
	responses, err := protoCall(ctx, greeter, *rpc, []byte(*body))
	if err != nil {
		var parse *bodyError
		if errors.As(err, &parse) {
			return err
		}
		e := microerrors.FromError(err)
		emit(map[string]any{"ok": false, "error": map[string]any{"id": e.Id, "code": e.Code, "detail": e.Detail, "status": e.Status}})
		return nil
	}
	out := make([]json.RawMessage, len(responses))
	for i, m := range responses {
		b, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(m)
		if err != nil {
			return err
		}
		out[i] = b
	}
	emit(map[string]any{"ok": true, "responses": out})
	return nil
}

// bodyError is a --body the peer cannot parse: the test's mistake, not the call's outcome.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "--body: " + e.err.Error() }

func protoCall(ctx context.Context, g helloworld.GreeterService, rpc string, body []byte) ([]proto.Message, error) {
	switch rpc {
	case "SayHello":
		req := &helloworld.HelloRequest{}
		if err := protojson.Unmarshal(body, req); err != nil {
			return nil, &bodyError{err}
		}
		rsp, err := g.SayHello(ctx, req)
		if err != nil {
			return nil, err
		}
		return []proto.Message{rsp}, nil
	case "Countdown":
		req := &helloworld.CountRequest{}
		if err := protojson.Unmarshal(body, req); err != nil {
			return nil, &bodyError{err}
		}
		stream, err := g.Countdown(ctx, req)
		if err != nil {
			return nil, err
		}
		defer stream.Close()
		var out []proto.Message
		for {
			m, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	case "Sum":
		var raw []json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, &bodyError{err}
		}
		stream, err := g.Sum(ctx)
		if err != nil {
			return nil, err
		}
		defer stream.Close()
		for _, r := range raw {
			n := &helloworld.Number{}
			if err := protojson.Unmarshal(r, n); err != nil {
				return nil, &bodyError{err}
			}
			if err := stream.Send(n); err != nil {
				return nil, err
			}
		}
		if err := stream.CloseSend(); err != nil {
			return nil, err
		}
		rsp := &helloworld.SumReply{}
		if err := stream.RecvMsg(rsp); err != nil {
			return nil, err
		}
		return []proto.Message{rsp}, nil
	default:
		return nil, &bodyError{fmt.Errorf("unknown rpc %q", rpc)}
	}
}
