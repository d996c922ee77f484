package simplepeer_test

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/transport/v2/vnet"
	"github.com/pion/turn/v2"
	"github.com/pion/webrtc/v3"
)

// This file builds the Internet in miniature on Pion's vnet for the NAT
// and network-failure tests: a WAN router with a STUN/TURN server
// (pion/turn) on it, and one LAN per peer, each behind its own NAT.
//
//	             WAN 0.0.0.0/0, server 1.2.3.4:3478
//	            /                                   \
//	LAN 0 (NAT, WAN address 27.1.1.1)     LAN 1 (NAT, WAN address 28.1.1.1)
//	   peer 0: 192.168.1.2                   peer 1: 10.2.0.2

const (
	vnetServerIP = "1.2.3.4"
	vnetTURNPort = 3478
	vnetTURNUser = "user"
	vnetTURNPass = "pass"
)

var (
	vnetPublicIPs = [2]string{"27.1.1.1", "28.1.1.1"}
	vnetLANCIDRs  = [2]string{"192.168.1.0/24", "10.2.0.0/24"}
	vnetLocalIPs  = [2]string{"192.168.1.2", "10.2.0.2"}
)

// NAT behaviours by their RFC 3489 names (RFC 4787 terms in the fields).
var (
	natFullCone = &vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointIndependent}
	// natRestricted filters by the remote's address.
	natRestricted = &vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointAddrDependent}
	// natPortRestricted filters by the remote's address and port.
	natPortRestricted = &vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointAddrPortDependent}
	// natAddrDependent maps and filters per remote address.
	natAddrDependent = &vnet.NATType{MappingBehavior: vnet.EndpointAddrDependent, FilteringBehavior: vnet.EndpointAddrDependent}
	// natSymmetric maps and filters per remote address and port.
	natSymmetric = &vnet.NATType{MappingBehavior: vnet.EndpointAddrPortDependent, FilteringBehavior: vnet.EndpointAddrPortDependent}
)

// natNet is a running topology. Its routers and server stop when the
// test ends; peers made from its options must be created after it, so
// that they close first.
type natNet struct {
	wan    *vnet.Router
	nets   [2]*vnet.Net
	cut    [2]atomic.Bool // drop every packet to and from LAN i
	server *turn.Server
	stop   sync.Once
}

// quietLogs logs errors only: vnet warns about every packet a NAT drops,
// which is the point of these tests.
func quietLogs() logging.LoggerFactory {
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	return lf
}

// vnetBuild serializes building topologies: vnet.NewNet and NewRouter
// count MAC addresses in an unguarded global, so parallel tests race.
var vnetBuild sync.Mutex

// newNATNet builds the topology with the given NAT in front of each peer
// and starts the STUN/TURN server.
func newNATNet(t testing.TB, nat0, nat1 *vnet.NATType) *natNet {
	t.Helper()
	vnetBuild.Lock()
	defer vnetBuild.Unlock()
	lf := quietLogs()
	n := &natNet{}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	n.wan, err = vnet.NewRouter(&vnet.RouterConfig{CIDR: "0.0.0.0/0", LoggerFactory: lf})
	must(err)
	wanNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{vnetServerIP}})
	must(err)
	must(n.wan.AddNet(wanNet))
	for i, nat := range [2]*vnet.NATType{nat0, nat1} {
		lan, err := vnet.NewRouter(&vnet.RouterConfig{
			CIDR:          vnetLANCIDRs[i],
			StaticIPs:     []string{vnetPublicIPs[i]},
			NATType:       nat,
			LoggerFactory: lf,
		})
		must(err)
		cut := &n.cut[i]
		lan.AddChunkFilter(func(vnet.Chunk) bool { return !cut.Load() })
		n.nets[i], err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{vnetLocalIPs[i]}})
		must(err)
		must(lan.AddNet(n.nets[i]))
		must(n.wan.AddRouter(lan))
	}
	must(n.wan.Start())
	t.Cleanup(func() { _ = n.wan.Stop() })

	conn, err := wanNet.ListenPacket("udp4", fmt.Sprintf("%s:%d", vnetServerIP, vnetTURNPort))
	must(err)
	n.server, err = turn.NewServer(turn.ServerConfig{
		Realm:         "simplepeer.test",
		LoggerFactory: lf,
		AuthHandler: func(user, realm string, _ net.Addr) ([]byte, bool) {
			if user != vnetTURNUser {
				return nil, false
			}
			return turn.GenerateAuthKey(user, realm, vnetTURNPass), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn: conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
				RelayAddress: net.ParseIP(vnetServerIP),
				Address:      "0.0.0.0",
				Net:          wanNet,
			},
		}},
	})
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(n.stopServer)
	return n
}

// stopServer closes the STUN/TURN server and its relays; safe to repeat.
func (n *natNet) stopServer() { n.stop.Do(func() { _ = n.server.Close() }) }

// stunServer is the server's STUN URL.
func (n *natNet) stunServer() webrtc.ICEServer {
	return webrtc.ICEServer{URLs: []string{fmt.Sprintf("stun:%s:%d", vnetServerIP, vnetTURNPort)}}
}

// turnServer is the server's TURN URL with its credentials.
func (n *natNet) turnServer() webrtc.ICEServer {
	return webrtc.ICEServer{
		URLs:       []string{fmt.Sprintf("turn:%s:%d?transport=udp", vnetServerIP, vnetTURNPort)},
		Username:   vnetTURNUser,
		Credential: vnetTURNPass,
	}
}

// options returns Options for the peer on LAN i (peer 0 initiates) with
// config, on DefaultSettingEngine moved onto the vnet host; tune, if not
// nil, changes the settings further (e.g. ICE timeouts).
func (n *natNet) options(i int, config webrtc.Configuration, tune func(*webrtc.SettingEngine)) *simplepeer.Options {
	se := simplepeer.DefaultSettingEngine()
	se.SetNet(n.nets[i])
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // vnet has no multicast
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.LoggerFactory = quietLogs()
	o := &simplepeer.Options{Initiator: i == 0, Config: &config, SettingEngine: se}
	if lf := testLog.factory(fmt.Sprintf("lan%d", i)); lf != nil { // SIMPLEPEER_TEST_LOG
		se.LoggerFactory, o.LoggerFactory = lf, lf
	}
	if tune != nil {
		tune(se)
	}
	return o
}

// pair returns the two wired peers for config on both sides.
func (n *natNet) pair(t testing.TB, config webrtc.Configuration, tune func(*webrtc.SettingEngine)) (*simplepeer.Peer, *simplepeer.Peer) {
	t.Helper()
	return newPeerPair(t, n.options(0, config, tune), n.options(1, config, tune))
}
