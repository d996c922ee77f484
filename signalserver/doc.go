// Package signalserver is a WebSocket signalling server speaking the
// protocol of y-webrtc's signalling server (bin/server.js), so that
// simple-peer pages, y-webrtc (Yjs) apps and this module's Go peers can
// find each other through it. Rooms are topics.
//
// Start with New and mount the *Server as an http.Handler:
//
//	srv := signalserver.New(nil)
//	defer srv.Close()
//	http.ListenAndServe("127.0.0.1:8090", srv)
//
// ServeHTTP answers Options.MetricsPath ("/metrics") with the Prometheus
// counters, upgrades every other WebSocket request on any path, and
// answers plain HTTP with "okay" (a health check, as y-webrtc's server).
// Mount Metrics elsewhere and set MetricsPath to "-" to keep them apart.
//
// # Protocol
//
// Every frame is a JSON object with a "type":
//
//	{"type":"subscribe","topics":["room"]}    join topics (non-strings are ignored)
//	{"type":"unsubscribe","topics":["room"]}  leave them
//	{"type":"publish","topic":"room",...}     relayed unchanged to every subscriber
//	                                          of "room", the sender included, with
//	                                          "clients": N (the subscriber count) added
//	{"type":"ping"}                           answered with {"type":"pong"}
//
// A client may publish to a topic it has not subscribed to, as with
// y-webrtc; a publish to "" is dropped, as server.js drops a falsy topic. Frames that are not JSON objects or have another type are ignored.
//
// # Limits
//
// Each limit is an Options field with a default (see Options): message
// size (closed with 1009), topics per client and clients per topic (the
// extra subscriptions are ignored), the per-client send queue (a client
// that falls behind is dropped with 1008, never buffered without bound),
// messages per second per client (over the limit the client is dropped
// with 1008), allowed origins, and an idle timeout enforced with
// WebSocket pings.
//
// # Concurrency
//
// All methods of Server are safe for concurrent use. Each client costs
// three goroutines (reader, writer, pinger), all waited for by Shutdown.
package signalserver
