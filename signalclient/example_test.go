package signalclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/signalclient"
	"github.com/gosimplepeer/simplepeer/signalserver"
)

// Two members meet in a room on an in-process server; each says hello to
// the other over their data channel.
func Example() {
	srv := signalserver.New(nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")

	got := make(chan string, 2)
	join := func(id string) *signalclient.Room {
		room, err := signalclient.Join(context.Background(), signalclient.Options{
			URL: url, Room: "my-room", ID: id, PeerOptions: loopbackPeer,
			OnPeer: func(other string, p *simplepeer.Peer) {
				p.OnConnect(func() { _ = p.SendString("hello " + other + ", from " + id) })
				p.OnData(func(b []byte) { got <- string(b) })
			},
		})
		if err != nil {
			panic(err)
		}
		return room
	}
	alice, bob := join("alice"), join("bob")
	first, second := <-got, <-got
	if first > second {
		first, second = second, first
	}
	fmt.Println(first)
	fmt.Println(second)
	_ = alice.Close()
	_ = bob.Close()
	// Output:
	// hello alice, from bob
	// hello bob, from alice
}
