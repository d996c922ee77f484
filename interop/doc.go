// Package interop tests Go peers built with simplepeer against real
// simple-peer@9.11.1 peers: in Node on @roamhq/wrtc, and in headless
// Chromium; and the signalserver package against y-webrtc 10.3.0 clients
// in Node. It is a module of its own so that the library's tests need
// neither Node nor Chromium. Run it with interop/run.sh; see README.md.
package interop
