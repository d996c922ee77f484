package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gosimplepeer/simplepeer"
)

// encodeSignal returns s as one line to paste: base64 of its simple-peer
// JSON. Base64 keeps the SDP's \r\n and quotes out of the terminal's way.
func encodeSignal(s simplepeer.Signal) (string, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("failed to encode signal: %w", err)
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// decodeSignal parses a line printed by encodeSignal. Surrounding white
// space (a paste's trailing \r, indentation) is ignored.
func decodeSignal(line string) (simplepeer.Signal, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
	if err != nil {
		return simplepeer.Signal{}, fmt.Errorf("failed to decode signal line: %w", err)
	}
	s, err := simplepeer.ParseSignal(data)
	if err != nil {
		return simplepeer.Signal{}, fmt.Errorf("failed to parse signal: %w", err)
	}
	return s, nil
}
