// Command gomicrobench is go-micro itself in tsmicro's benchmark (bench/run.ts, target
// `go-micro`): a go-micro v5 gRPC server and a closed-loop go-micro gRPC client, run as separate
// processes, echoing the same ~100-byte JSON payload as every other target.
//
//	gomicrobench server
//	    serves Bench.Echo on 127.0.0.1 (a free port), prints `ready <address>`, then answers
//	    stdin lines: `mark` starts a CPU window, `report` prints `cpu <µs>`, `quit` stops.
//	gomicrobench client ADDRESS CONCURRENCY WARMUP_S SECONDS
//	    CONCURRENCY goroutines call Bench.Echo in a loop for the warm-up, print `measuring`, call
//	    for SECONDS, print `done`, then one JSON line: calls, errors, perSec, p50us, p99us,
//	    clientCpuMs (the fields bench/client.ts prints).
//
// The server registers in go-micro's in-memory registry and the client dials the address it is
// given (client.WithAddress), so nothing leaves loopback and no registry server is needed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go-micro.dev/v5/client"
	grpcclient "go-micro.dev/v5/client/grpc"
	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/server"
	grpcserver "go-micro.dev/v5/server/grpc"
)

// Payload is the bench's request and response: {"id":42,"name":"bench","data":"x"*64}.
type Payload struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Data string `json:"data"`
}

// Bench is the handler: Echo answers the request.
type Bench struct{}

// Echo copies the request into the response.
func (Bench) Echo(ctx context.Context, req *Payload, rsp *Payload) error {
	*rsp = *req
	return nil
}

// maxCalls bounds each caller's loop in count as well as time.
const maxCalls = 50_000_000

func main() {
	if len(os.Args) < 2 {
		fail("usage: gomicrobench server | client ADDRESS CONCURRENCY WARMUP_S SECONDS")
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer()
	case "client":
		err = runClient(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "gomicrobench:", msg)
	os.Exit(2)
}

// cpuMicros is the CPU time (user + system) this process has used, µs.
func cpuMicros() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
}

func runServer() error {
	srv := grpcserver.NewServer(
		server.Name("bench"),
		server.Address("127.0.0.1:0"),
		server.Registry(registry.NewMemoryRegistry()),
	)
	if err := srv.Handle(srv.NewHandler(Bench{})); err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	fmt.Printf("ready %s\n", srv.Options().Address)
	mark := cpuMicros()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "mark":
			mark = cpuMicros()
		case "report":
			fmt.Printf("cpu %d\n", cpuMicros()-mark)
		case "quit":
			return srv.Stop()
		}
	}
	return srv.Stop()
}

func runClient(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("client needs ADDRESS CONCURRENCY WARMUP_S SECONDS, got %q", args)
	}
	address := args[0]
	concurrency, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	warmup, err := strconv.ParseFloat(args[2], 64)
	if err != nil {
		return err
	}
	seconds, err := strconv.ParseFloat(args[3], 64)
	if err != nil {
		return err
	}
	c := grpcclient.NewClient(
		client.Registry(registry.NewMemoryRegistry()),
		client.ContentType("application/json"),
		client.RequestTimeout(5*time.Second),
		client.Retries(0),
		// One connection per caller at most, as go-micro's pool keeps them: the default pool of
		// 100 would make callers beyond it dial per call.
		client.PoolSize(concurrency),
	)
	req := Payload{ID: 42, Name: "bench", Data: strings.Repeat("x", 64)}
	var (
		mu         sync.Mutex
		errors     int
		firstError string
	)
	loop := func(until time.Time, lat *[]int64) int {
		n := 0
		r := c.NewRequest("bench", "Bench.Echo", &req)
		for n < maxCalls && time.Now().Before(until) {
			t0 := time.Now()
			var rsp Payload
			if err := c.Call(context.Background(), r, &rsp, client.WithAddress(address)); err != nil {
				mu.Lock()
				errors++
				if firstError == "" {
					firstError = err.Error()
				}
				tooMany := errors > 1000
				mu.Unlock()
				if tooMany {
					break
				}
			}
			if lat != nil {
				*lat = append(*lat, time.Since(t0).Nanoseconds())
			}
			n++
		}
		return n
	}
	run := func(d time.Duration, record bool) (int, []int64) {
		until := time.Now().Add(d)
		counts := make([]int, concurrency)
		lats := make([][]int64, concurrency)
		var wg sync.WaitGroup
		for i := 0; i < concurrency; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var lat *[]int64
				if record {
					lat = &lats[i]
				}
				counts[i] = loop(until, lat)
			}(i)
		}
		wg.Wait()
		total := 0
		var all []int64
		for i := range counts {
			total += counts[i]
			all = append(all, lats[i]...)
		}
		return total, all
	}
	run(time.Duration(warmup*float64(time.Second)), false)
	mu.Lock()
	errors, firstError = 0, ""
	mu.Unlock()
	fmt.Println("measuring")
	cpu0 := cpuMicros()
	t0 := time.Now()
	calls, lats := run(time.Duration(seconds*float64(time.Second)), true)
	elapsed := time.Since(t0)
	cpu := cpuMicros() - cpu0
	fmt.Println("done")
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[int(p*float64(len(lats)-1))]) / 1000
	}
	out := map[string]any{
		"calls":       calls,
		"errors":      errors,
		"elapsedMs":   float64(elapsed.Microseconds()) / 1000,
		"perSec":      float64(calls) / elapsed.Seconds(),
		"p50us":       pct(0.5),
		"p99us":       pct(0.99),
		"clientCpuMs": float64(cpu) / 1000,
	}
	if firstError != "" {
		out["firstError"] = firstError
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}
