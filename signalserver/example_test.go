package signalserver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/coder/websocket"
	"github.com/gosimplepeer/simplepeer/signalserver"
)

// A client subscribes to a room and publishes to it; the server relays the
// frame to every subscriber, the sender included, with "clients" added.
func Example() {
	srv := signalserver.New(nil)
	hs := httptest.NewServer(srv) // 127.0.0.1
	defer hs.Close()
	defer srv.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	for _, frame := range []string{
		`{"type":"subscribe","topics":["room"]}`,
		`{"type":"publish","topic":"room","from":"peer-a","signal":{"type":"offer"}}`,
		`{"type":"ping"}`,
	} {
		_ = c.Write(ctx, websocket.MessageText, []byte(frame))
	}
	for i := 0; i < 2; i++ {
		_, data, _ := c.Read(ctx)
		fmt.Println(string(data))
	}
	// Output:
	// {"type":"publish","topic":"room","from":"peer-a","signal":{"type":"offer"},"clients":1}
	// {"type":"pong"}
}
