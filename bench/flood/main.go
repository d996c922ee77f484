// Command flood measures what a peer holds while a remote floods it with
// messages its application does not consume: the OnData handler blocks (or,
// with -consumer none, nobody reads). The flooding remote runs in a child
// process (this program started again with -child), so the heap measured is
// the receiving peer's alone. Both peers are on the loopback interface,
// with no ICE servers; the flood is bounded by -seconds.
//
//	go run ./bench/flood                      # empty messages, blocked OnData, 20 s
//	go run ./bench/flood -size 1024 -seconds 10
//	go run ./bench/flood -consumer none       # no OnData handler, no Read
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

var (
	child    = flag.Bool("child", false, "run as the flooding remote (started by the parent)")
	size     = flag.Int("size", 0, "bytes per message")
	seconds  = flag.Duration("seconds", 20*time.Second, "how long the flood lasts")
	consumer = flag.String("consumer", "blocked", "blocked: an OnData handler that never returns; none: no handler and no Read")
)

// line is one message between the processes, one JSON object per line.
type line struct {
	Signal *simplepeer.Signal `json:"signal,omitempty"`
	Sent   int                `json:"sent,omitempty"`
}

func main() {
	flag.Parse()
	var err error
	if *child {
		err = flood()
	} else {
		err = receive()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

func options(initiator bool) *simplepeer.Options {
	se := simplepeer.DefaultSettingEngine()
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return &simplepeer.Options{Initiator: initiator, Config: &webrtc.Configuration{}, SettingEngine: se}
}

// pipe carries signals and counts between the processes.
type pipe struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (p *pipe) send(l line) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.enc.Encode(l)
}

// connect wires peer to the other process through in and out and returns
// the lines that carry no signal.
func connect(peer *simplepeer.Peer, in *bufio.Scanner, out *pipe) <-chan line {
	peer.OnSignal(func(s simplepeer.Signal) { out.send(line{Signal: &s}) })
	rest := make(chan line, 16)
	go func() {
		defer close(rest)
		for in.Scan() {
			var l line
			if json.Unmarshal(in.Bytes(), &l) != nil {
				continue
			}
			if l.Signal != nil {
				_ = peer.Signal(*l.Signal)
				continue
			}
			select {
			case rest <- l:
			default: // only the latest count matters
			}
		}
	}()
	return rest
}

// flood is the child: it connects and sends messages until its parent
// closes the connection or -seconds pass, reporting its count.
func flood() error {
	peer, err := simplepeer.New(options(true))
	if err != nil {
		return err
	}
	defer peer.Close()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 4<<20)
	out := &pipe{enc: json.NewEncoder(os.Stdout)}
	connect(peer, in, out)
	connected := make(chan struct{})
	peer.OnConnect(func() { close(connected) })
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		return fmt.Errorf("no connect")
	}
	msg := make([]byte, *size)
	end := time.Now().Add(*seconds)
	sent := 0
	for time.Now().Before(end) {
		_ = peer.SetWriteDeadline(time.Now().Add(time.Second))
		if err := peer.Send(msg); err != nil {
			if peer.Destroyed() {
				break
			}
			continue // blocked for a second: the receiver's window is full
		}
		sent++
		if sent%10000 == 0 {
			out.send(line{Sent: sent})
		}
	}
	out.send(line{Sent: sent})
	return nil
}

// receive is the parent: it starts the child, lets it flood a peer whose
// application consumes nothing, and samples its own heap.
func receive() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-child", "-size", fmt.Sprint(*size), "-seconds", seconds.String())
	cmd.Stderr = os.Stderr
	childIn, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	childOut, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Wait() }()
	defer childIn.Close()

	peer, err := simplepeer.New(options(false))
	if err != nil {
		return err
	}
	release := make(chan struct{})
	if *consumer == "blocked" {
		peer.OnData(func([]byte) { <-release })
	}
	in := bufio.NewScanner(childOut)
	in.Buffer(make([]byte, 1<<20), 4<<20)
	counts := connect(peer, in, &pipe{enc: json.NewEncoder(childIn)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := peer.WaitConnected(ctx); err != nil {
		return err
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	fmt.Printf("flood of %d-byte messages for %v, consumer %s; heap before: %.1f MiB\n",
		*size, *seconds, *consumer, mib(base))
	fmt.Println("time   sent by remote   heap (MiB)   heap after GC (MiB)")
	var peak uint64
	sent := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := 1; time.Since(start) < *seconds+time.Second; i++ {
		select {
		case l, ok := <-counts:
			if ok {
				sent = l.Sent
			}
		case <-tick.C:
		}
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
		if i%20 == 0 {
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			fmt.Printf("%4.0fs   %14d   %10.1f   %19.1f\n", time.Since(start).Seconds(), sent, mib(ms.HeapAlloc), mib(after.HeapAlloc))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fmt.Printf("remote sent %d messages; peak heap %.1f MiB (+%.1f over before), after GC %.1f MiB (+%.1f)\n",
		sent, mib(peak), mib(peak-base), mib(ms.HeapAlloc), mib(ms.HeapAlloc-base))
	close(release)
	_ = peer.Close()
	return nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
