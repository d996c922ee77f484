package simplepeer_test

import "testing"

func TestSmoke(t *testing.T) {
	p1, p2 := connectedPair(t)
	got := make(chan string, 1)
	p2.OnData(func(b []byte) { got <- string(b) })
	if err := p1.SendString("hello"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got, "data"); s != "hello" {
		t.Fatal(s)
	}
	t.Log(p1.LocalAddr(), p1.RemoteAddr())
}
