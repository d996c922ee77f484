// Command datachannel is simple-peer's seed example in Go: two peers in one
// process, signalling to each other directly, send a message over a data
// channel and close.
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

func main() {
	done := make(chan struct{})
	if err := run(done); err != nil {
		log.Fatal(err)
	}
	<-done
}

func run(done chan struct{}) error {
	// Both peers live in this process: no STUN server is needed, and
	// loopback candidates let it work on a machine with no network at all.
	settings := simplepeer.DefaultSettingEngine()
	settings.SetIncludeLoopbackCandidate(true)
	opts := func(initiator bool) *simplepeer.Options {
		return &simplepeer.Options{
			Initiator:     initiator,
			Config:        &webrtc.Configuration{},
			SettingEngine: settings,
		}
	}

	peer1, err := simplepeer.New(opts(true))
	if err != nil {
		return err
	}
	peer2, err := simplepeer.New(opts(false))
	if err != nil {
		return err
	}

	// Signalling: in a real app these messages travel over your own
	// channel (a WebSocket, HTTP, ...) as JSON.
	peer1.OnSignal(func(s simplepeer.Signal) { signal(peer2, s) })
	peer2.OnSignal(func(s simplepeer.Signal) { signal(peer1, s) })

	peer1.OnConnect(func() {
		// Wait for 'connect' before sending.
		if err := peer1.SendString("hey peer2, how is it going?"); err != nil {
			log.Fatal(err)
		}
	})
	peer2.OnData(func(data []byte) {
		fmt.Printf("got a message from peer1: %s\n", data)
		peer2.Close()
	})
	peer1.OnClose(func() { close(done) }) // peer2 closing closes peer1
	for _, p := range []*simplepeer.Peer{peer1, peer2} {
		p.OnError(func(err error) { fmt.Fprintln(os.Stderr, "error:", err) })
	}
	return nil
}

func signal(to *simplepeer.Peer, s simplepeer.Signal) {
	if err := to.Signal(s); err != nil {
		log.Print(err)
	}
}
