// Command mesh is simple-peer's "connecting more than 2 peers" in Go: N
// members join one room on an in-process signalling server and build a
// full mesh; each broadcasts a line and prints what it received; then one
// leaves and the others notice.
//
//	go run ./examples/mesh          # 4 members
//	go run ./examples/mesh -n 6
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/signalclient"
	"github.com/gosimplepeer/simplepeer/signalserver"
	"github.com/pion/webrtc/v3"
)

func main() {
	n := flag.Int("n", 4, "how many members")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	flag.Parse()
	if err := run(*n, *timeout, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// member is one participant and what it has seen.
type member struct {
	name  string
	room  *signalclient.Room
	mu    sync.Mutex
	heard []string
	lines chan struct{} // one per line received
	left  chan string
}

func run(n int, timeout time.Duration, out io.Writer) error {
	if n < 2 {
		return fmt.Errorf("-n %d: a mesh needs at least 2 members", n)
	}
	srv := signalserver.New(nil)
	hs := httptest.NewServer(srv) // 127.0.0.1, a random port
	defer hs.Close()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	members := make([]*member, n)
	for i := range members {
		m := &member{name: fmt.Sprintf("peer%d", i+1), lines: make(chan struct{}, n), left: make(chan string, n)}
		room, err := signalclient.Join(ctx, signalclient.Options{
			URL: url, Room: "mesh", ID: m.name, PeerOptions: localPeer,
			OnPeer: func(other string, p *simplepeer.Peer) {
				p.OnConnect(func() { _ = p.SendString("hello from " + m.name) })
				p.OnData(func(b []byte) {
					m.mu.Lock()
					m.heard = append(m.heard, string(b))
					m.mu.Unlock()
					m.lines <- struct{}{}
				})
			},
			OnLeave: func(other string) { m.left <- other },
		})
		if err != nil {
			return err
		}
		m.room = room
		members[i] = m
	}
	for _, m := range members {
		for range n - 1 {
			select {
			case <-m.lines:
			case <-ctx.Done():
				return fmt.Errorf("%s did not hear all %d other members", m.name, n-1)
			}
		}
		sort.Strings(m.heard)
		fmt.Fprintf(out, "%s heard: %s\n", m.name, strings.Join(m.heard, "; "))
	}

	last := members[n-1]
	_ = last.room.Close()
	for _, m := range members[:n-1] {
		select {
		case who := <-m.left:
			fmt.Fprintf(out, "%s noticed %s leave\n", m.name, who)
		case <-ctx.Done():
			return fmt.Errorf("%s did not notice %s leave", m.name, last.name)
		}
	}
	for _, m := range members[:n-1] {
		_ = m.room.Close()
	}
	return nil
}

// localPeer: no STUN, loopback allowed: the mesh lives in this process.
func localPeer() *simplepeer.Options {
	se := simplepeer.DefaultSettingEngine()
	se.SetIncludeLoopbackCandidate(true)
	return &simplepeer.Options{Config: &webrtc.Configuration{}, SettingEngine: se}
}
