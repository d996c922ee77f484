package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/gosimplepeer/simplepeer/bench/internal/udpstat"
)

// nodeRow is the name of the Node rows.
const nodeRow = "node-node"

// nodeRunner runs bench/node/loopback.js: Node simple-peer to Node
// simple-peer, both in one Node process, one process per measurement.
type nodeRunner struct {
	node, script, interop string
	versions              string
}

// benchDir is the directory of this source file (bench/), for the
// defaults of -interop and the script.
func benchDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "bench"
	}
	return filepath.Dir(file)
}

// newNodeRunner finds node, the script and the interop module's packages;
// the error says what is missing.
func newNodeRunner(interop string) (*nodeRunner, error) {
	if interop == "" {
		interop = filepath.Join(benchDir(), "..", "interop")
	}
	for _, pkg := range []string{"simple-peer", "@roamhq/wrtc"} {
		if _, err := os.Stat(filepath.Join(interop, "node_modules", pkg, "package.json")); err != nil {
			return nil, fmt.Errorf("%s is not installed in %s/node_modules: run `cd %s && npm ci` (simple-peer@9.11.1, @roamhq/wrtc@0.10.0)", pkg, interop, interop)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node is not installed: %w", err)
	}
	script := filepath.Join(benchDir(), "node", "loopback.js")
	if _, err := os.Stat(script); err != nil {
		return nil, err
	}
	n := &nodeRunner{node: node, script: script, interop: interop}
	out, _ := exec.Command(node, "--version").Output()
	n.versions = "node " + string(bytes.TrimSpace(out))
	for _, pkg := range []string{"simple-peer", "@roamhq/wrtc"} {
		var pj struct{ Version string }
		if b, err := os.ReadFile(filepath.Join(interop, "node_modules", pkg, "package.json")); err == nil && json.Unmarshal(b, &pj) == nil {
			n.versions += fmt.Sprintf(", %s@%s", pkg, pj.Version)
		}
	}
	return n, nil
}

// nodeResult is loopback.js's output line.
type nodeResult struct {
	SetupMS   float64   `json:"setupMS"`
	MiBps     float64   `json:"mibps"`
	CPUPerGiB float64   `json:"cpuPerGiB"`
	Rate      float64   `json:"rate"`
	RTTs      []float64 `json:"rtts"`
}

func (n *nodeRunner) run(timeout time.Duration, args ...string) (nodeResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.node, append([]string{n.script, n.interop}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r nodeResult
	if err != nil {
		return r, fmt.Errorf("node: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil {
		return r, fmt.Errorf("node output %q: %w", out, err)
	}
	return r, nil
}

// throughput is the node-node row of the throughput table.
func (n *nodeRunner) throughput(mib int, timeout time.Duration) sample {
	s := sample{variant: nodeRow, pionDrops: -1, stallMS: -1}
	before := udpstat.RcvbufErrors()
	r, err := n.run(timeout+30*time.Second, "throughput", strconv.Itoa(mib))
	s.drops = udpstat.RcvbufErrors() - before
	if err != nil {
		s.err = err.Error()
		return s
	}
	s.setupMS, s.mibps, s.cpuPerGiB = r.SetupMS, r.MiBps, r.CPUPerGiB
	return s
}

// messages is the node-node row of the messages table.
func (n *nodeRunner) messages(c msgConfig) msgSample {
	r, err := n.run(c.timeout+30*time.Second, "messages", strconv.Itoa(c.count), strconv.Itoa(c.window), strconv.Itoa(c.roundTrips))
	if err != nil {
		return msgSample{err: err}
	}
	if len(r.RTTs) == 0 {
		return msgSample{err: errors.New("node: no round trips")}
	}
	return msgSample{rate: r.Rate, rtts: r.RTTs}
}
