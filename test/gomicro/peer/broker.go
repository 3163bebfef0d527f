package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"go-micro.dev/v5/broker"
	"go-micro.dev/v5/broker/nats"
	"go-micro.dev/v5/client"
	grpcclient "go-micro.dev/v5/client/grpc"
	"go-micro.dev/v5/metadata"
)

// connectBroker is go-micro's HTTP broker (its default) on the registry -registry names (mdns:
// registry.DefaultRegistry, so exactly the broker of a go-micro service started with no flags) or
// on Consul when only consulAddr is set; its NATS broker otherwise.
func connectBroker(url, kind, consulAddr string) (broker.Broker, error) {
	if kind == "" && consulAddr != "" {
		kind = "consul"
	}
	if kind == "" {
		return connectNats(url)
	}
	reg, err := chooseRegistry(kind, consulAddr)
	if err != nil {
		return nil, err
	}
	b := broker.NewHttpBroker(broker.Registry(reg))
	if err := b.Connect(); err != nil {
		return nil, fmt.Errorf("http broker connect: %w", err)
	}
	return b, nil
}

func connectNats(url string) (broker.Broker, error) {
	b := nats.NewNatsBroker(broker.Addrs(url))
	if err := b.Connect(); err != nil {
		return nil, fmt.Errorf("nats connect %s: %w", url, err)
	}
	return b, nil
}

// runPublish publishes --count messages through go-micro's NATS broker (or its HTTP broker).
// Message i carries header `seq: i` plus --header, and the body `<prefix><i>\x00\xff` (not UTF-8,
// so the envelope's base64 is exercised with arbitrary bytes) or exactly --body.
func runPublish(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS URL")
	topic := fs.String("topic", "", "topic")
	count := fs.Int("count", 1, "how many messages")
	headers := fs.String("header", "", "headers k=v,...")
	prefix := fs.String("body-prefix", "go-", "body prefix")
	fixed := fs.String("body", "", "send exactly this body instead (e.g. a JSON event)")
	consulAddr := fs.String("consul", "", "use go-micro's HTTP broker on this Consul instead of NATS")
	kind := fs.String("registry", "", "use go-micro's HTTP broker on this registry (consul, mdns) instead of NATS")
	linger := fs.Duration("linger", 0, "stay up this long after publishing (the HTTP broker sends in the background)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hdr, err := pairs(*headers)
	if err != nil {
		return err
	}
	b, err := connectBroker(*url, *kind, *consulAddr)
	if err != nil {
		return err
	}
	defer b.Disconnect()
	for i := 0; i < *count; i++ {
		h := map[string]string{"seq": fmt.Sprint(i)}
		for k, v := range hdr {
			h[k] = v
		}
		body := []byte(fmt.Sprintf("%s%d\x00\xff", *prefix, i))
		if *fixed != "" {
			body = []byte(*fixed)
		}
		if err := b.Publish(*topic, &broker.Message{Header: h, Body: body}); err != nil {
			return err
		}
	}
	emit(map[string]any{"event": "published", "count": *count})
	time.Sleep(*linger)
	return nil
}

// runSubscribe prints every message received on --topic as
// `{"event":"message","header":{...},"body":"<base64>"}` and exits after --count messages (probes
// aside) or --wait.
func runSubscribe(args []string) error {
	fs := flag.NewFlagSet("subscribe", flag.ContinueOnError)
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS URL")
	topic := fs.String("topic", "", "topic")
	count := fs.Int("count", 1, "messages to wait for")
	wait := fs.Duration("wait", 60*time.Second, "give up after")
	consulAddr := fs.String("consul", "", "use go-micro's HTTP broker on this Consul instead of NATS")
	kind := fs.String("registry", "", "use go-micro's HTTP broker on this registry (consul, mdns) instead of NATS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := connectBroker(*url, *kind, *consulAddr)
	if err != nil {
		return err
	}
	defer b.Disconnect()
	got := make(chan struct{}, *count+1000)
	probed := false // handler calls of one NATS subscription never overlap
	sub, err := b.Subscribe(*topic, func(e broker.Event) error {
		m := e.Message()
		// go-micro's Subscribe does not flush the SUB to the server, so "subscribed" below does
		// not mean the server knows yet: a publisher first sends messages with a `probe` header
		// until one shows up here. They are reported once and never counted.
		if m.Header["probe"] != "" {
			if !probed {
				probed = true
				emit(map[string]any{"event": "probe"})
			}
			return nil
		}
		emit(map[string]any{"event": "message", "header": m.Header, "body": base64.StdEncoding.EncodeToString(m.Body)})
		got <- struct{}{}
		return nil
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	emit(map[string]any{"event": "subscribed", "topic": *topic})
	deadline := time.After(*wait)
	for n := 0; n < *count; n++ {
		select {
		case <-got:
		case <-deadline:
			emit(map[string]any{"event": "timeout", "received": n})
			os.Exit(3)
		}
	}
	// Anything beyond --count that is already in flight would be an over-delivery: give it a
	// moment to show up before reporting the total.
	time.Sleep(300 * time.Millisecond)
	emit(map[string]any{"event": "done", "received": *count + len(got)})
	return nil
}

// runEvent publishes one event the way a go-micro service does: client.Publish on the gRPC
// client (which adds Content-Type and Micro-Topic and encodes with its codec) over NATS.
func runEvent(args []string) error {
	fs := flag.NewFlagSet("event", flag.ContinueOnError)
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS URL")
	topic := fs.String("topic", "", "topic")
	body := fs.String("body", "{}", "event, any JSON value")
	contentType := fs.String("content-type", "application/json", "go-micro content type")
	md := fs.String("metadata", "", "metadata k=v,... (sent as headers)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	meta, err := pairs(*md)
	if err != nil {
		return err
	}
	var payload any
	if err := json.Unmarshal([]byte(*body), &payload); err != nil {
		return err
	}
	b := nats.NewNatsBroker(broker.Addrs(*url))
	c := grpcclient.NewClient(client.Broker(b))
	defer b.Disconnect()
	ctx := metadata.NewContext(context.Background(), meta)
	if err := c.Publish(ctx, c.NewMessage(*topic, payload, client.WithMessageContentType(*contentType))); err != nil {
		return err
	}
	emit(map[string]any{"event": "published", "count": 1})
	return nil
}
