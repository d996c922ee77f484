package simplepeer_test

import (
	"testing"
)

// BenchmarkSend64 sends 64-byte messages one way through a connected pair
// and waits for each to arrive at OnData: the per-message cost of the
// library's send and receive paths (-benchmem gives allocations).
func BenchmarkSend64(b *testing.B) {
	p1, p2 := connectedPair(b)
	got := make(chan struct{}, 1024)
	p2.OnData(func([]byte) { got <- struct{}{} })
	msg := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p1.Send(msg); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

// BenchmarkSendRead64 is BenchmarkSend64 with Read instead of OnData.
func BenchmarkSendRead64(b *testing.B) {
	p1, p2 := connectedPair(b)
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p1.Send(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := p2.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
