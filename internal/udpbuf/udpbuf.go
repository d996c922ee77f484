// Package udpbuf is the OS network with larger UDP socket buffers, for
// Pion's SettingEngine.SetNet: the library's DefaultSettingEngine uses it,
// and bench/ uses the same code for its raw-Pion variants.
package udpbuf

import (
	"net"

	"github.com/pion/transport/v2"
	"github.com/pion/transport/v2/stdnet"
)

// bufferedNet is the OS network with larger UDP socket buffers. ICE opens
// its sockets through ListenUDP (host candidates) and ListenPacket (server
// reflexive gathering); both get the buffers. Sizes above the OS limit
// (net.core.rmem_max on Linux) are capped by the kernel, so asking is safe.
type bufferedNet struct {
	transport.Net
	size int
}

// NewNet returns the OS network with size-byte UDP send and receive
// buffers, or nil when the interfaces cannot be listed (Pion then builds
// its own network and reports the problem itself).
func NewNet(size int) transport.Net {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil // stdnet.NewNet fails only when listing interfaces fails
	}
	return &bufferedNet{Net: n, size: size}
}

type bufferSetter interface {
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

func (n *bufferedNet) grow(c any) {
	if b, ok := c.(bufferSetter); ok {
		_ = b.SetReadBuffer(n.size) // best effort: the OS may cap or refuse
		_ = b.SetWriteBuffer(n.size)
	}
}

// ListenUDP opens a UDP socket with enlarged buffers.
func (n *bufferedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		n.grow(c)
	}
	return c, err
}

// ListenPacket opens a packet socket with enlarged buffers.
func (n *bufferedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err == nil {
		n.grow(c)
	}
	return c, err
}
