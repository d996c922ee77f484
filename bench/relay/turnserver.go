package main

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pion/turn/v2"
)

// TURN credentials and realm of the bench's server; nothing else can reach
// it (it listens on 127.0.0.1 only).
const (
	turnUser  = "bench"
	turnPass  = "bench"
	turnRealm = "simplepeer.bench"
	// sockBuffer is the receive and send buffer asked for every socket of
	// the TURN server (the kernel caps it at net.core.rmem_max), so the
	// relay itself is not where datagrams are lost.
	sockBuffer = 4 << 20
)

// pathConfig is what the delaying relay does to each datagram.
type pathConfig struct {
	oneWay   time.Duration // added to every datagram, once per direction
	loss     float64       // fraction dropped at random, 0..1
	queueLen int           // bound of each relay socket's delay queue, in datagrams
}

// turnServer is a pion/turn server on 127.0.0.1 (UDP) whose relay sockets
// delay and drop datagrams. Both peers of a connection allocate on it, so
// a datagram goes peer A → server → A's relay socket → B's relay socket →
// server → peer B: it passes exactly one relay WriteTo per direction, and
// that is where the delay (half the RTT) and the loss are applied.
type turnServer struct {
	srv   *turn.Server
	addr  *net.UDPAddr
	stats pathStats

	mu    sync.Mutex
	ports []int // local ports of every socket of the server, for /proc/net/udp
}

func startTURN(cfg pathConfig) (*turnServer, error) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	growBuffers(pc)
	t := &turnServer{addr: pc.LocalAddr().(*net.UDPAddr)}
	t.ports = append(t.ports, t.addr.Port)
	t.srv, err = turn.NewServer(turn.ServerConfig{
		Realm: turnRealm,
		AuthHandler: func(user, realm string, _ net.Addr) ([]byte, bool) {
			if user != turnUser {
				return nil, false
			}
			return turn.GenerateAuthKey(turnUser, realm, turnPass), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pc,
			RelayAddressGenerator: &delayGenerator{cfg: cfg, server: t},
		}},
	})
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	return t, nil
}

// url is the server's address for ICE.
func (t *turnServer) url() string { return fmt.Sprintf("turn:%s?transport=udp", t.addr) }

// serverPorts returns the local ports of the server's sockets so far.
func (t *turnServer) serverPorts() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]int(nil), t.ports...)
}

func (t *turnServer) close() error { return t.srv.Close() }

// delayGenerator is the turn.RelayAddressGenerator that makes each
// allocation's relay socket a delayConn on 127.0.0.1.
type delayGenerator struct {
	cfg    pathConfig
	server *turnServer
}

// Validate is called once, when the server starts.
func (g *delayGenerator) Validate() error { return nil }

// AllocatePacketConn opens the relay socket of a new UDP allocation.
func (g *delayGenerator) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	pc, err := net.ListenPacket(network, fmt.Sprintf("127.0.0.1:%d", requestedPort))
	if err != nil {
		return nil, nil, err
	}
	growBuffers(pc)
	g.server.mu.Lock()
	g.server.ports = append(g.server.ports, pc.LocalAddr().(*net.UDPAddr).Port)
	g.server.mu.Unlock()
	return newDelayConn(pc, g.cfg.oneWay, g.cfg.loss, g.cfg.queueLen, &g.server.stats), pc.LocalAddr(), nil
}

// AllocateConn would open a TCP relay (RFC 6062), which the bench does not use.
func (g *delayGenerator) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, fmt.Errorf("TCP allocations are not supported")
}

func growBuffers(pc net.PacketConn) {
	if u, ok := pc.(*net.UDPConn); ok {
		_ = u.SetReadBuffer(sockBuffer) // best effort: capped at rmem_max
		_ = u.SetWriteBuffer(sockBuffer)
	}
}
