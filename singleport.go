package simplepeer

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// SinglePortOptions configures ListenSinglePort.
type SinglePortOptions struct {
	// UDP is the address every peer's ICE uses, "host:port". A specific
	// IP ("10.0.0.5:3478", "127.0.0.1:0") is one socket; an empty or
	// unspecified host (":3478", "0.0.0.0:3478") opens the port on every
	// local interface address (loopback excluded), one socket each, all
	// on that port. Port 0 picks a free port (see UDPAddrs).
	UDP string

	// TCP, if set, is an address for ICE-TCP ("host:port", usually
	// ":port"): peers also offer passive TCP host candidates on this one
	// listener, for clients whose networks block UDP. The candidates carry
	// the addresses of the peer's interfaces (as its SettingEngine filters
	// them) with the listener's port, so listen where those addresses are.
	TCP string

	// PublicIPs, if set, replace the host candidates' addresses with these
	// (Pion's NAT 1:1 mapping): a server behind a cloud provider's 1:1 NAT
	// lists its public IP here, so that clients get an address they can
	// reach, with no STUN. One IP, or one per local IP as "public/local".
	PublicIPs []string

	// LoggerFactory receives the mux's debug output. Nil means none.
	LoggerFactory logging.LoggerFactory
}

// SinglePort is a UDP port (and optionally a TCP one) shared by every peer
// created with its SettingEngine: a server with thousands of peers behind
// one open port. Create it with ListenSinglePort, give each peer
// Options.SettingEngine = sp.SettingEngine(), and Close it after the peers.
//
// Limits, all Pion v3's: only host candidates (and PublicIPs) use the
// port — server-reflexive candidates from STUN servers in the
// Configuration, and TURN relays, open sockets of their own, so a server
// on a fixed port usually sets PublicIPs and no ICE servers. Two peers of
// the same SinglePort cannot connect to each other (the mux tells peers
// apart by the remote's address, which is then its own); peers of two
// different SinglePorts can.
type SinglePort struct {
	udp ice.UDPMux
	tcp *ice.TCPMuxDefault
	ln  net.Listener

	addrs     []*net.UDPAddr
	publicIPs []string
}

// ListenSinglePort opens the port(s) of opts. The UDP sockets get the same
// 4 MiB buffers as DefaultSettingEngine's, so that one socket can carry
// many peers' bursts.
func ListenSinglePort(opts SinglePortOptions) (*SinglePort, error) {
	lf := opts.LoggerFactory
	if lf == nil {
		lf = nopLoggerFactory{}
	} else {
		lf = redactingFactory{lf}
	}
	host, portStr, err := net.SplitHostPort(opts.UDP)
	if err != nil {
		return nil, fmt.Errorf("single port: bad UDP address %q: %w", opts.UDP, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("single port: bad UDP port %q", portStr)
	}
	sp := &SinglePort{publicIPs: append([]string(nil), opts.PublicIPs...)}
	ip := net.ParseIP(host)
	if host != "" && ip == nil {
		return nil, fmt.Errorf("single port: UDP host %q is not an IP address", host)
	}
	if ip == nil || ip.IsUnspecified() {
		mux, err := listenEveryInterface(port, lf)
		if err != nil {
			return nil, fmt.Errorf("single port: failed to listen on UDP port %d: %w", port, err)
		}
		sp.udp = mux
	} else {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return nil, fmt.Errorf("single port: failed to listen on %s: %w", opts.UDP, err)
		}
		_ = conn.SetReadBuffer(socketBufferSize) // best effort: the OS caps it
		_ = conn.SetWriteBuffer(socketBufferSize)
		sp.udp = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: lf.NewLogger("udpmux")})
	}
	for _, a := range sp.udp.GetListenAddresses() {
		if ua, ok := a.(*net.UDPAddr); ok {
			sp.addrs = append(sp.addrs, ua)
		}
	}
	if opts.TCP != "" {
		ln, err := net.Listen("tcp", opts.TCP)
		if err != nil {
			_ = sp.udp.Close()
			return nil, fmt.Errorf("single port: failed to listen on TCP %s: %w", opts.TCP, err)
		}
		sp.ln = ln
		sp.tcp = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:        ln,
			Logger:          lf.NewLogger("tcpmux"),
			ReadBufferSize:  64,               // packets queued per connection before ICE reads them
			WriteBufferSize: socketBufferSize, // Pion's recommended 4 MB
		})
	}
	return sp, nil
}

// listenEveryInterface opens port on every interface address. Port 0
// would give each address a port of its own, so a free port is found
// first (tried again if another program takes it meanwhile).
func listenEveryInterface(port int, lf logging.LoggerFactory) (*ice.MultiUDPMuxDefault, error) {
	listen := func(port int) (*ice.MultiUDPMuxDefault, error) {
		return ice.NewMultiUDPMuxFromPort(port,
			ice.UDPMuxFromPortWithReadBufferSize(socketBufferSize),
			ice.UDPMuxFromPortWithWriteBufferSize(socketBufferSize),
			ice.UDPMuxFromPortWithLogger(lf.NewLogger("udpmux")))
	}
	if port != 0 {
		return listen(port)
	}
	var err error
	for range 10 {
		var c *net.UDPConn
		if c, err = net.ListenUDP("udp", &net.UDPAddr{}); err != nil {
			return nil, err
		}
		free := c.LocalAddr().(*net.UDPAddr).Port
		_ = c.Close()
		var mux *ice.MultiUDPMuxDefault
		if mux, err = listen(free); err == nil {
			return mux, nil
		}
	}
	return nil, err
}

// SettingEngine returns DefaultSettingEngine() with the shared port(s) and
// PublicIPs set: pass it as Options.SettingEngine to every peer that
// should use the port (it may be shared; the Peer copies it). Start from
// it to change more.
func (sp *SinglePort) SettingEngine() *webrtc.SettingEngine {
	se := DefaultSettingEngine()
	se.SetICEUDPMux(sp.udp)
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if sp.tcp != nil {
		se.SetICETCPMux(sp.tcp)
		types = append(types, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(types)
	if len(sp.publicIPs) > 0 {
		se.SetNAT1To1IPs(sp.publicIPs, webrtc.ICECandidateTypeHost)
	}
	return se
}

// UDPAddrs returns the addresses the UDP port is open on (with the port
// chosen when the options asked for 0).
func (sp *SinglePort) UDPAddrs() []*net.UDPAddr {
	return append([]*net.UDPAddr(nil), sp.addrs...)
}

// TCPAddr returns the ICE-TCP listener's address, or nil without one.
func (sp *SinglePort) TCPAddr() net.Addr {
	if sp.ln == nil {
		return nil
	}
	return sp.ln.Addr()
}

// Close closes the port(s). Close the peers first: their connections
// through the port end with it.
func (sp *SinglePort) Close() error {
	err := sp.udp.Close()
	if sp.tcp != nil {
		err = errors.Join(err, sp.tcp.Close())
	}
	return err
}
