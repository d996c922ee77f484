package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// socketDrops returns the datagrams the kernel dropped at the UDP sockets
// bound to any of ports (the last column of /proc/net/udp and udp6: a
// full receive buffer, counted per socket over its lifetime).
func socketDrops(ports []int) int64 {
	var total int64
	for _, file := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 13 {
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			port, err := strconv.ParseInt(f[1][i+1:], 16, 32)
			if err != nil || !slices.Contains(ports, int(port)) {
				continue
			}
			n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			total += n
		}
	}
	return total
}

// processPorts returns the local ports of the UDP sockets process pid
// holds (its /proc/<pid>/fd links "socket:[inode]", looked up in
// /proc/net/udp and udp6). libwebrtc hides the related address of its
// relay candidates (raddr 0.0.0.0 rport 0), so this is how a Node peer's
// sockets are found: each Node process holds one peer at a time.
func processPorts(pid int) []int {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var ports []int
	for _, file := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 13 || !inodes[f[9]] {
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			if port, err := strconv.ParseInt(f[1][i+1:], 16, 32); err == nil {
				ports = append(ports, int(port))
			}
		}
	}
	return ports
}

// candidatePort returns the local port of the socket behind a relay
// candidate line ("... typ relay raddr 0.0.0.0 rport 41234 ..."): the
// peer's own socket to the TURN server, where the datagrams it receives
// are queued by the kernel. 0 when the line has none.
func candidatePort(line string) int {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "rport" {
			n, _ := strconv.Atoi(f[i+1])
			return n
		}
	}
	return 0
}
