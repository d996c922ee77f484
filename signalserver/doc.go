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
// # Scale-out
//
// With Options.Redis, several Servers (processes, machines) share their
// topics through Redis pub/sub, so that clients connected to different
// instances are in the same rooms:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := signalserver.New(&signalserver.Options{Redis: rdb})
//
// An instance subscribes to one Redis channel (RedisPrefix + topic) for
// each topic that has subscribers on it, and unsubscribes when the last
// one leaves. A publish is delivered to the local subscribers at once and
// published on the topic's channel, in an envelope carrying the instance's
// random ID, which the other instances deliver to their subscribers and
// the sender skips. No instance holds state another needs: a client whose
// instance dies reconnects to any other (signalclient's Options.Fallbacks)
// and subscribes again.
//
// What to know:
//   - "clients" in a relayed frame is the number of subscribers on the
//     instance that delivers it, not in the whole room (y-webrtc does not
//     use it; server.js has one instance, where the two are the same);
//   - a subscribe that creates a topic on an instance waits, at most 2 s,
//     for Redis to confirm the channel before the client's next frame is
//     read, so that answers to the client's next publish reach it;
//   - while Redis is unreachable each instance goes on serving its own
//     clients; messages between instances are lost meanwhile (Redis
//     pub/sub keeps nothing), go-redis reconnects and the instance
//     subscribes its channels again. Failures are counted in
//     signalserver_redis_errors_total{op}, not fatal;
//   - publishes wait for Redis in a queue of Options.RedisQueue (1024);
//     when it is full a publish reaches local subscribers only, counted.
//
// # Concurrency
//
// All methods of Server are safe for concurrent use. Each client costs
// three goroutines (reader, writer, pinger), all waited for by Shutdown;
// with Redis the Server has three more (channel subscriptions, publishing,
// receiving), ended by Shutdown too. The Redis client is the caller's to
// close.
package signalserver
