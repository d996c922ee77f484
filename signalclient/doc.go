// Package signalclient joins a room on a y-webrtc signalling server (such as
// package signalserver) and connects a *simplepeer.Peer to every other
// member.
//
// The wire format is y-webrtc's, so Go members and y-webrtc (Yjs) members
// can share a room: the client subscribes to the room's topic, announces
// itself with {"type":"publish","topic":ROOM,"data":{"type":"announce","from":ID}},
// and carries simple-peer signals as
// {"type":"publish","topic":ROOM,"data":{"type":"signal","from":ID,"to":OTHER,"signal":{...}}}.
//
// Who initiates is decided without glare: on an announce from a member it
// has no peer for, a client whose ID is lower initiates; a client whose ID
// is higher announces again, so that the other side (lower, or a y-webrtc
// member, which always initiates on an announce) initiates. A signal from an
// unknown member creates a non-initiator. A member leaves when its peer
// closes. A lost server connection is redialled with backoff; peers already
// connected are not touched.
package signalclient
