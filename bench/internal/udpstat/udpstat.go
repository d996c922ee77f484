// Package udpstat reads the kernel's UDP drop counters, for the benchmarks.
package udpstat

import (
	"os"
	"slices"
	"strconv"
	"strings"
)

// RcvbufErrors returns the kernel's count of UDP datagrams, IPv4 and
// IPv6, dropped because a socket's receive buffer was full (RcvbufErrors in
// /proc/net/snmp plus Udp6RcvbufErrors in /proc/net/snmp6). It is for the
// whole network namespace: other traffic on the machine adds to it.
func RcvbufErrors() int64 {
	var total int64
	if b, err := os.ReadFile("/proc/net/snmp"); err == nil {
		var names []string // the first "Udp:" line names the fields of the second
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] != "Udp:" {
				continue
			}
			if names == nil {
				names = f
				continue
			}
			if i := slices.Index(names, "RcvbufErrors"); i > 0 && i < len(f) {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				total += n
			}
			break
		}
	}
	if b, err := os.ReadFile("/proc/net/snmp6"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "Udp6RcvbufErrors" {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				total += n
			}
		}
	}
	return total
}
