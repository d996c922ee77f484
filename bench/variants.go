package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/internal/udpbuf"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

const (
	// baseline is the variant the throughput ratios compare with.
	baseline = "pion-default"
	// udpBuffer is the socket buffer size of the tuned raw Pion variants,
	// the same as simplepeer's DefaultSettingEngine asks for.
	udpBuffer = 4 << 20
	// writeSize is the size of each Write call on a simplepeer sender
	// (the library splits it into 16 KiB messages).
	writeSize = 64 << 10
	// setupTimeout bounds one connect; closeTimeout bounds one close.
	setupTimeout = 20 * time.Second
	closeTimeout = 30 * time.Second
)

// variant is one way of connecting two in-process peers.
type variant struct {
	name     string
	simple   bool   // through simplepeer (Write/Read), else raw Pion (Send/OnMessage)
	tuned    bool   // no peer-reflexive wait and 4 MiB UDP buffers
	sctpRecv uint32 // SCTP max receive buffer; 0 keeps Pion's default (1 MiB)
	about    string
	// noLog leaves the SettingEngine's LoggerFactory unset (the library
	// then logs nothing, Pion only its errors) instead of the drop counter.
	noLog bool
}

var allVariants = []variant{
	{"sp-tuned", true, true, 0, "simplepeer, DefaultSettingEngine", false},
	{"sp-default", true, false, 0, "simplepeer, SettingEngine = &webrtc.SettingEngine{}", false},
	{"pion-default", false, false, 0, "raw Pion, default settings (the baseline)", false},
	{"pion-tuned", false, true, 0, "raw Pion, SetPrflxAcceptanceMinWait(0) + 4 MiB UDP buffers", false},
	{"sp-tuned-rb512k", true, true, 512 << 10, "sp-tuned + SetSCTPMaxReceiveBufferSize(512 KiB)", false},
	{"sp-tuned-rb768k", true, true, 768 << 10, "sp-tuned + SetSCTPMaxReceiveBufferSize(768 KiB)", false},
	{"sp-tuned-rb4m", true, true, 4 << 20, "sp-tuned + SetSCTPMaxReceiveBufferSize(4 MiB)", false},
	{"sp-tuned-rb8m", true, true, 8 << 20, "sp-tuned + SetSCTPMaxReceiveBufferSize(8 MiB)", false},
	{"pion-tuned-rb512k", false, true, 512 << 10, "pion-tuned + SetSCTPMaxReceiveBufferSize(512 KiB)", false},
	{"pion-tuned-rb768k", false, true, 768 << 10, "pion-tuned + SetSCTPMaxReceiveBufferSize(768 KiB)", false},
	{"pion-tuned-rb4m", false, true, 4 << 20, "pion-tuned + SetSCTPMaxReceiveBufferSize(4 MiB)", false},
	{"pion-tuned-rb8m", false, true, 8 << 20, "pion-tuned + SetSCTPMaxReceiveBufferSize(8 MiB)", false},
}

// The library and raw Pion with the same settings: the pairs of the
// connect, messages and allocs sections. They set no LoggerFactory, as an
// application without logging does: given one, the library wraps every
// Pion logger in its redacting logger, which allocates on every call
// (spTunedLog, an allocs row, shows what that costs).
var (
	spTuned    = quiet(mustVariant("sp-tuned"))
	pionTuned  = quiet(mustVariant("pion-tuned"))
	spTunedLog = mustVariant("sp-tuned")
)

func quiet(v variant) variant {
	v.noLog = true
	return v
}

func mustVariant(name string) variant {
	vs, err := pick(name)
	if err != nil {
		panic(err)
	}
	return vs[0]
}

func pick(names string) ([]variant, error) {
	var out []variant
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		i := slices.IndexFunc(allVariants, func(v variant) bool { return v.name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown variant %q (try -list)", n)
		}
		out = append(out, allVariants[i])
	}
	return out, nil
}

// printEnv prints what the numbers depend on: CPUs, the kernel's socket
// buffer cap and the Pion module versions in this build.
func printEnv() {
	rmem, _ := os.ReadFile("/proc/sys/net/core/rmem_max")
	fmt.Printf("%s, GOMAXPROCS %d, net.core.rmem_max %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), strings.TrimSpace(string(rmem)))
	if bi, ok := debug.ReadBuildInfo(); ok {
		var mods []string
		for _, m := range bi.Deps {
			switch m.Path {
			case "github.com/pion/webrtc/v3", "github.com/pion/sctp", "github.com/pion/ice/v2", "github.com/pion/datachannel":
				mods = append(mods, strings.TrimPrefix(m.Path, "github.com/pion/")+"@"+m.Version)
			}
		}
		fmt.Println("pion:", strings.Join(mods, " "))
	}
}

// settingEngine returns the variant's Pion settings, always restricted to
// the loopback interface.
func (v variant) settingEngine() *webrtc.SettingEngine {
	var se *webrtc.SettingEngine
	switch {
	case v.simple && v.tuned:
		se = simplepeer.DefaultSettingEngine()
	case v.tuned:
		se = &webrtc.SettingEngine{}
		se.SetPrflxAcceptanceMinWait(0)
		if n := udpbuf.NewNet(udpBuffer); n != nil {
			se.SetNet(n)
		}
	default:
		se = &webrtc.SettingEngine{}
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" || name == "lo0" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if v.sctpRecv > 0 {
		se.SetSCTPMaxReceiveBufferSize(v.sctpRecv)
	}
	if !v.noLog {
		se.LoggerFactory = dropCounter{}
	}
	return se
}

// pionDrops counts packets Pion itself dropped: its ICE and mux buffers
// (1 MB each) are full, or SCTP's receive buffer is. The kernel's counters
// do not see these.
var pionDrops atomic.Int64

// dropCounter is a Pion logger factory that prints nothing and counts the
// messages Pion logs when it drops a packet.
type dropCounter struct{}

func (dropCounter) NewLogger(string) logging.LeveledLogger { return dropCounter{} }

func (dropCounter) count(msg string) {
	if strings.Contains(msg, "dropping") || strings.Contains(msg, "Failed to write packet") {
		pionDrops.Add(1)
	}
}

func (dropCounter) Trace(string)                     {}
func (dropCounter) Tracef(string, ...any)            {}
func (d dropCounter) Debug(msg string)               { d.count(msg) }
func (d dropCounter) Debugf(format string, _ ...any) { d.count(format) }
func (d dropCounter) Info(msg string)                { d.count(msg) }
func (d dropCounter) Infof(format string, _ ...any)  { d.count(format) }
func (d dropCounter) Warn(msg string)                { d.count(msg) }
func (d dropCounter) Warnf(format string, _ ...any)  { d.count(format) }
func (d dropCounter) Error(msg string)               { d.count(msg) }
func (d dropCounter) Errorf(format string, _ ...any) { d.count(format) }
