// Package simplepeer gives Go programs WebRTC data channels, video and voice
// behind the small API of simple-peer (https://github.com/feross/simple-peer),
// on Pion WebRTC v3. Its signal messages are simple-peer's, byte for byte, so
// a Go peer can join a JavaScript app that uses simple-peer.
//
// # Where to start
//
// New creates a Peer; exactly one side of a connection sets
// Options.Initiator. Carry each Signal from OnSignal to the other side (as
// JSON, over any channel you like) and hand it to that side's Signal method.
// OnConnect fires once the data channel is open; then Send, SendString and
// OnData exchange messages, or Read and Write use the channel as a byte
// stream (a Peer is a net.Conn). Close or Destroy end it; OnClose fires on
// both sides.
//
//	peer1, _ := simplepeer.New(&simplepeer.Options{Initiator: true})
//	peer2, _ := simplepeer.New(nil)
//	peer1.OnSignal(func(s simplepeer.Signal) { peer2.Signal(s) })
//	peer2.OnSignal(func(s simplepeer.Signal) { peer1.Signal(s) })
//	peer1.OnConnect(func() { peer1.SendString("hey peer2, how is it going?") })
//	peer2.OnData(func(b []byte) { fmt.Printf("got a message from peer1: %s\n", b) })
//
// Media: pass tracks in Options.Tracks or add them with AddTrack and
// AddStream at any time; the remote receives them in OnTrack and OnStream.
// Only the initiator makes offers; the non-initiator asks it to
// (renegotiate, transceiverRequest), as simple-peer does.
//
// # Concurrency
//
// Every method of a Peer is safe to call from any goroutine. The handlers
// set with the On methods are called from one goroutine per peer, one at a
// time, in the order the events happened, and never while the library holds
// a lock: a handler may call any method of the peer, Read, Write and
// Destroy included. An event that fires before its handler is set is held
// until it is set. Handlers should return quickly; a slow handler delays
// later events, and a blocked OnData handler makes the remote wait (the
// receive path is bounded). Close and Destroy, called from outside a
// handler, wait for a running handler to return: a handler must not wait
// for something that only the caller of Close provides.
//
// Behind the API, one goroutine per peer owns the Pion PeerConnection and
// runs the negotiation state machine; a second delivers events; a third
// reads the data channel and hands messages to Read or to the second.
// Close waits for all of them and for Pion's; Done reports the end.
//
// # Errors
//
// Failures are *Error values with simple-peer's codes (ERR_SIGNALING,
// ERR_ICE_CONNECTION_FAILURE, ...); Code returns the code of any error.
// Input Signal cannot use returns ERR_SIGNALING and leaves the peer as it
// was; failures of the connection destroy the peer, emit the error on
// OnError, then close.
package simplepeer
