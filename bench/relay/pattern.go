package main

import "encoding/binary"

// pattern returns n bytes of xorshift32 output from seed, each 32-bit word
// little-endian: the bytes relay-peer.js makes with the same seed, so both
// languages can check each other's transfers byte for byte.
func pattern(n int, seed uint32) []byte {
	out := make([]byte, n+3)
	x := seed
	if x == 0 {
		x = 1
	}
	for i := 0; i < n; i += 4 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		binary.LittleEndian.PutUint32(out[i:], x)
	}
	return out[:n:n]
}
