// yjs-peer.mjs: one Yjs document behind a y-webrtc 10.3.0 WebrtcProvider,
// its WebRTC on @roamhq/wrtc, remote-controlled by the Go test over stdin
// and stdout, one JSON object a line each way (yjs_test.go).
//
// Commands (stdin):
//
//	{"cmd":"join","url":"ws://...","room":"..."}  create the provider
//	{"cmd":"insert","text":"...","index":N}        edit the shared text (index defaults to its end)
//	{"cmd":"stats"}                                 report the signalling frames sent and received
//
// Events (stdout):
//
//	{"ev":"ready","versions":{...}}
//	{"ev":"subscribed"}     the server relayed this peer's own announce back: it is subscribed to the room
//	{"ev":"peers","webrtcPeers":N,"connected":N,"bcPeers":N,"rx":N}
//	                        y-webrtc's room: WebRTC connections known and connected, BroadcastChannel
//	                        peers, data-channel messages received so far
//	{"ev":"synced","synced":true}
//	{"ev":"text","value":"...","local":bool,"rx":N}  the shared text after each change
//	{"ev":"stats","sent":{...},"received":{...}}  signalling frames by type ("publish:announce", ...)
//	{"ev":"signalling","connected":false}          the signalling WebSocket closed
//	{"ev":"fault","error":{"code":"","message":"..."}}
//
// y-webrtc and lib0 log with console.log; this process's console writes to
// stderr, which the test saves under interop/out/, so stdout carries only
// the events.
import { Console } from 'node:console'
import { createRequire } from 'node:module'

globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr })

const require = createRequire(import.meta.url)
const { emit, version, readCommands } = require('./stdio.cjs')
const wrtc = require('@roamhq/wrtc')
const { WebSocket: NodeWebSocket } = require('ws')

// lib0/websocket, which y-webrtc's SignalingConn extends, calls the global
// WebSocket; Node 20 has none.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = NodeWebSocket
}

const Y = await import('yjs')
const { WebrtcProvider } = await import('y-webrtc')

function fault (message) {
  emit({ ev: 'fault', error: { code: '', message } })
}

let provider = null
let text = null
let rx = 0 // data-channel messages received over every WebRTC connection
const sent = {} // signalling frames by type
const received = {}

function frameType (m) {
  if (!m || typeof m !== 'object') return typeof m
  return m.type === 'publish' ? 'publish:' + (m.data && m.data.type) : String(m.type)
}

function count (counts, m) {
  const k = frameType(m)
  counts[k] = (counts[k] || 0) + 1
}
const watched = new WeakSet() // simple-peer instances with our listeners

function peersEvent () {
  const room = provider && provider.room
  if (!room) return
  let connected = 0
  room.webrtcConns.forEach(conn => { if (conn.connected) connected++ })
  emit({ ev: 'peers', webrtcPeers: room.webrtcConns.size, connected, bcPeers: room.bcConns.size, rx })
}

// watch adds listeners to the simple-peer of every WebRTC connection of the
// room not seen before. y-webrtc adds its own first, so by the time ours
// run it has updated conn.connected.
function watch () {
  const room = provider && provider.room
  if (!room) return
  room.webrtcConns.forEach(conn => {
    if (watched.has(conn.peer)) return
    watched.add(conn.peer)
    conn.peer.on('connect', peersEvent)
    conn.peer.on('close', peersEvent)
    // Ahead of y-webrtc's listener, so that the text event of an update
    // counts the message that carried it.
    conn.peer.prependListener('data', () => { rx++ })
    conn.peer.on('error', err => console.error('yjs-peer: simple-peer error:', err && err.code, err && err.message))
  })
}

function join ({ url, room }) {
  if (provider) throw new Error('already joined')
  const doc = new Y.Doc()
  text = doc.getText('text')
  text.observe(event => {
    emit({ ev: 'text', value: text.toString(), local: event.transaction.local, rx })
  })
  provider = new WebrtcProvider(room, doc, {
    signaling: [url],
    filterBcConns: true,
    peerOpts: { wrtc, config: { iceServers: [] } }
  })
  provider.on('peers', () => {
    watch()
    peersEvent()
  })
  provider.on('synced', ({ synced }) => emit({ ev: 'synced', synced }))
  let subscribed = false
  for (const conn of provider.signalingConns) {
    const send = conn.send.bind(conn)
    conn.send = m => {
      count(sent, m)
      return send(m)
    }
    conn.on('message', m => {
      count(received, m)
      const r = provider.room
      if (subscribed || !r || !m || m.type !== 'publish' || m.topic !== room) return
      const d = m.data
      if (d && d.type === 'announce' && d.from === r.peerId) {
        subscribed = true
        emit({ ev: 'subscribed' })
      }
    })
    conn.on('disconnect', () => emit({ ev: 'signalling', connected: false }))
  }
}

function insert ({ text: s, index }) {
  if (!text) throw new Error('not joined')
  text.insert(typeof index === 'number' ? index : text.length, s)
}

readCommands(msg => {
  try {
    switch (msg.cmd) {
      case 'join': join(msg); break
      case 'insert': insert(msg); break
      case 'stats': emit({ ev: 'stats', sent, received }); break
      default: throw new Error('unknown command ' + msg.cmd)
    }
  } catch (err) {
    fault(msg.cmd + ': ' + (err.stack || err))
  }
}, err => fault('bad JSON from Go: ' + err.message))
process.on('uncaughtException', err => fault('uncaught: ' + (err.stack || err)))
process.on('unhandledRejection', err => fault('unhandled rejection: ' + (err && err.stack ? err.stack : err)))

emit({
  ev: 'ready',
  versions: {
    node: process.version,
    yWebrtc: version('y-webrtc'),
    yjs: version('yjs'),
    simplePeer: version('simple-peer'),
    wrtc: version('@roamhq/wrtc'),
    ws: version('ws')
  }
})
