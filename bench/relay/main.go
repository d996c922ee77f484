// Command relay measures one-way data channel throughput through a TURN
// relay that delays (and optionally drops) datagrams, for simple-peer in
// Node (libwebrtc, @roamhq/wrtc) and simplepeer in Go, on the same path in
// one interleaved run:
//
//	node-node  simple-peer → simple-peer (two Node processes)
//	go-node    simplepeer → simple-peer
//	node-go    simple-peer → simplepeer
//	go-go      simplepeer → simplepeer (this process)
//
// The TURN server (pion/turn, turnserver.go) listens on 127.0.0.1 and both
// peers allocate on it with ICE restricted to relay candidates, so every
// datagram passes one delaying relay socket (delayconn.go) per direction:
// the RTT is -rtt. Each run transfers -mib MiB, checks it byte for byte at
// the receiver and times it from the sender's first write to the
// receiver's last verified byte. Drops are counted where they happen: at
// the relay (random loss, full delay queue), in the kernel (full socket
// receive buffers: machine-wide, at the receiver's socket, at the relay's
// sockets) and inside Pion. Nothing leaves the machine. See README.md.
//
//	go run ./bench/relay -rtt 50ms -runs 3 -mib 8
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

func main() {
	rtt := flag.Duration("rtt", 50*time.Millisecond, "round-trip time through the relay (half is added to each direction)")
	loss := flag.Float64("loss", 0, "percentage of datagrams the relay drops at random, each direction")
	queue := flag.Int("queue", 16384, "bound of each relay socket's delay queue, in datagrams (more are dropped as overflow)")
	mib := flag.Int("mib", 8, "MiB to transfer one way per run")
	runs := flag.Int("runs", 3, "runs per row, interleaved")
	names := flag.String("rows", "node-node,go-node,node-go,go-go", "comma-separated rows: node-node, go-node, node-go, go-go")
	interop := flag.String("interop", "interop", "the interop directory (js/relay-peer.js and node_modules)")
	timeout := flag.Duration("timeout", 120*time.Second, "limit for one connect plus transfer")
	relayWait := flag.Duration("relaywait", -1, "Go peers: SetRelayAcceptanceMinWait (Pion's default, which the library keeps, is 2 s); negative leaves the library's setting")
	verbose := flag.Bool("v", false, "print the sockets each run watches")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile (TURN server and Go peers) to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}

	rows, err := pickRows(*names)
	if err != nil {
		fatal(err)
	}
	cfg := pathConfig{oneWay: *rtt / 2, loss: *loss / 100, queueLen: *queue}
	t, err := startTURN(cfg)
	if err != nil {
		fatal(fmt.Errorf("start TURN server: %w", err))
	}
	defer t.close()
	b := &bench{turn: t, bytes: *mib << 20, timeout: *timeout, relayWait: *relayWait, verbose: *verbose}
	printEnv()
	if slices.ContainsFunc(rows, func(r row) bool { return r.sender == "node" || r.receiver == "node" }) {
		var versions string
		if b.nodeA, versions, err = startNode(*interop); err == nil {
			b.nodeB, _, err = startNode(*interop)
		}
		if err != nil {
			fatal(err)
		}
		defer b.nodeA.close()
		defer b.nodeB.close()
		fmt.Println("node:", versions)
	}
	fmt.Printf("TURN %s: RTT %v (+%v each way at the relay), loss %g%%, delay queue %d datagrams per relay socket\n",
		t.addr, *rtt, cfg.oneWay, *loss, *queue)
	fmt.Printf("%d runs x %d MiB one way, rows interleaved\n\n", *runs, *mib)

	var samples []sample
	for r := 0; r < *runs; r++ {
		for i := range rows {
			rw := rows[(i+r)%len(rows)]
			s := b.runOnce(rw, uint32(r*len(allRows)+i+1))
			fmt.Fprintf(os.Stderr, "run %d/%d %s\n", r+1, *runs, s)
			samples = append(samples, s)
		}
	}
	fmt.Println()
	printTable(os.Stdout, samples)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "relay:", err)
	os.Exit(1)
}

func pickRows(names string) ([]row, error) {
	var out []row
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		i := slices.IndexFunc(allRows, func(r row) bool { return r.name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown row %q (node-node, go-node, node-go, go-go)", n)
		}
		out = append(out, allRows[i])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no rows")
	}
	return out, nil
}

// printEnv prints what the numbers depend on: CPUs, the kernel's socket
// buffer caps and the Pion module versions in this build.
func printEnv() {
	read := func(p string) string {
		b, _ := os.ReadFile(filepath.Join("/proc/sys/net/core", p))
		return strings.TrimSpace(string(b))
	}
	fmt.Printf("%s, GOMAXPROCS %d, net.core.rmem_max %s, rmem_default %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), read("rmem_max"), read("rmem_default"))
	if bi, ok := debug.ReadBuildInfo(); ok {
		var mods []string
		for _, m := range bi.Deps {
			switch m.Path {
			case "github.com/pion/webrtc/v3", "github.com/pion/sctp", "github.com/pion/ice/v2", "github.com/pion/turn/v2":
				mods = append(mods, strings.TrimPrefix(m.Path, "github.com/pion/")+"@"+m.Version)
			}
		}
		fmt.Println("pion:", strings.Join(mods, " "))
		var rev, modified string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				modified = kv.Value
			}
		}
		if rev != "" {
			fmt.Printf("simplepeer: commit %.12s (modified: %s)\n", rev, modified)
		}
	}
}
