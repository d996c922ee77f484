package simplepeer_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// TURN servers go in Options.Config, ICE timeouts on the SettingEngine:
// start from DefaultSettingEngine to keep the library's tuning.
func Example_turnAndTimeouts() {
	cfg := webrtc.Configuration{ICEServers: []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.org:3478"}},
		{URLs: []string{"turn:turn.example.org:3478?transport=udp"}, Username: "user", Credential: "secret"},
	}}
	se := simplepeer.DefaultSettingEngine()
	se.SetICETimeouts(2*time.Second, 8*time.Second, 500*time.Millisecond) // disconnected, failed, keepalive
	p, err := simplepeer.New(&simplepeer.Options{
		Config:         &cfg,
		SettingEngine:  se,
		AutoRestartICE: time.Second, // restart ICE after 1 s disconnected
	})
	fmt.Println(err)
	_ = p.Close()
	// Output: <nil>
}

// RestartICE on a connected pair: a new ICE session, the data channel
// stays open.
func ExamplePeer_RestartICE() {
	peer1, _ := simplepeer.New(localOptions(true))
	peer2, _ := simplepeer.New(localOptions(false))
	peer1.OnSignal(func(s simplepeer.Signal) { _ = peer2.Signal(s) })
	peer2.OnSignal(func(s simplepeer.Signal) { _ = peer1.Signal(s) })
	_ = peer1.WaitConnected(context.Background())

	again := make(chan struct{})
	var once sync.Once
	peer1.OnICEStateChange(func(s webrtc.ICEConnectionState, _ webrtc.ICEGatheringState) {
		if s == webrtc.ICEConnectionStateChecking {
			once.Do(func() { close(again) }) // a handler must not block
		}
	})
	fmt.Println(peer1.RestartICE())
	<-again // ICE checks anew
	_, _ = io.WriteString(peer1, "still here")
	_ = peer1.Close()
	all, _ := io.ReadAll(peer2)
	fmt.Printf("%s\n", all)
	_ = peer2.Close()
	// Output:
	// <nil>
	// still here
}
