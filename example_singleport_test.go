package simplepeer_test

import (
	"context"
	"fmt"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// A server runs all its peers on one UDP port: listen once, and give every
// peer the port's SettingEngine. Behind a cloud provider's 1:1 NAT, add
// PublicIPs: []string{"203.0.113.7"} so that clients get the public
// address. (Here the client is in the same process, on loopback.)
func ExampleListenSinglePort() {
	sp, err := simplepeer.ListenSinglePort(simplepeer.SinglePortOptions{UDP: "127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sp.Close() // after the peers
	server, _ := simplepeer.New(&simplepeer.Options{
		Initiator:     true,
		Config:        &webrtc.Configuration{}, // host candidates only: no STUN
		SettingEngine: sp.SettingEngine(),
	})
	client, _ := simplepeer.New(localOptions(false))
	server.OnSignal(func(s simplepeer.Signal) { _ = client.Signal(s) })
	client.OnSignal(func(s simplepeer.Signal) { _ = server.Signal(s) })
	_ = server.WaitConnected(context.Background())

	port := server.SelectedCandidatePair().Local.Port
	fmt.Println(int(port) == sp.UDPAddrs()[0].Port)
	_ = server.Close()
	_ = client.Close()
	// Output: true
}
