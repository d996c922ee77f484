// room.js: a simple-peer page's side of a signalling room, no dependencies.
//
// joinRoom connects to a signalling server speaking y-webrtc's protocol
// (package signalserver, or y-webrtc's bin/server.js), joins a room and
// connects a simple-peer to every other member, pages and Go members
// (package signalclient) alike, as they all speak the same messages:
//
//	{"type":"subscribe","topics":[room]}
//	{"type":"publish","topic":room,"data":{"type":"announce","from":id}}
//	{"type":"publish","topic":room,"data":{"type":"signal","from":id,"to":other,"signal":{...}}}
//
// On an announce from a member it has no peer for, the member with the
// lower ID (string order) creates the initiator; the other announces again
// so that it does. A signal for us from an unknown member creates a
// non-initiator. The server relays every publish to the sender too, so our
// own messages, and signals for others, are ignored.
//
//	import { joinRoom } from './room.js'
//	const room = joinRoom({ url: 'ws://127.0.0.1:8090', room: 'lobby', SimplePeer,
//	  onPeer: (id, p) => p.on('data', d => console.log(id, String(d))) })
//
// onPeer(id, peer) gets each new peer before it connects: set its handlers
// there. A peer whose 'close' fires (an 'error' is followed by one) leaves
// room.peers and onLeave(id) is called. Errors are swallowed unless onPeer
// adds an 'error' listener. room.close() leaves: it closes the WebSocket
// and destroys every peer, without onLeave calls.
//
// Not done: a WebSocket that drops is not redialled (peers already
// connected stay), and there is no room password or encryption.
// It needs a global WebSocket: browsers have one; in Node before 22, set
// globalThis.WebSocket from the ws package.
export function joinRoom ({ url, room, id = randomId(), SimplePeer, peerOpts = {}, onPeer = () => {}, onLeave = () => {} }) {
  const peers = new Map()
  const ws = new WebSocket(url)
  let closed = false

  const send = msg => { if (ws.readyState === 1) ws.send(JSON.stringify(msg)) }
  const publish = data => send({ type: 'publish', topic: room, data })

  function newPeer (other, initiator) {
    const p = new SimplePeer({ ...peerOpts, initiator })
    peers.set(other, p)
    p.on('signal', signal => publish({ type: 'signal', from: id, to: other, signal }))
    p.on('error', () => {}) // 'close' follows
    p.on('close', () => {
      if (peers.get(other) !== p) return // room.close() has cleared peers: no onLeave
      peers.delete(other)
      onLeave(other)
    })
    onPeer(other, p)
    return p
  }

  ws.onopen = () => {
    send({ type: 'subscribe', topics: [room] })
    publish({ type: 'announce', from: id })
  }
  ws.onerror = () => {} // 'close' follows
  ws.onmessage = ev => {
    if (closed) return // a message still arriving after close()
    let m
    try { m = JSON.parse(ev.data) } catch { return }
    const d = m && m.type === 'publish' && m.topic === room ? m.data : null
    if (!d || typeof d.from !== 'string' || d.from === '' || d.from === id) return
    if (d.type === 'announce' && !peers.has(d.from)) {
      if (id < d.from) newPeer(d.from, true)
      else publish({ type: 'announce', from: id })
    } else if (d.type === 'signal' && d.to === id && d.signal) {
      (peers.get(d.from) || newPeer(d.from, false)).signal(d.signal)
    }
  }

  return {
    id,
    peers,
    close () {
      closed = true
      ws.close()
      for (const p of peers.values()) p.destroy()
      peers.clear()
    }
  }
}

// An ID only has to be unique in the room; it is no secret.
function randomId () {
  return Math.random().toString(36).slice(2, 12)
}
