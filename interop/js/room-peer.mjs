// room-peer.mjs: one member of a signalling room, joined with
// examples/signalserver/js/room.js and simple-peer 9.11.1 on @roamhq/wrtc,
// remote-controlled by the Go test over stdin and stdout, one JSON object
// a line each way (room_test.go).
//
// Commands (stdin):
//
//	{"cmd":"join","url":"ws://...","room":"...","id":"..."}  joinRoom
//	{"cmd":"send","to":"ID","text":"..."}                    send text to member ID's peer
//	{"cmd":"close"}                                           room.close()
//
// Events (stdout):
//
//	{"ev":"ready","versions":{...}}
//	{"ev":"subscribed"}     the server relayed this member's own announce back: it is in the room
//	{"ev":"peer","id":"...","initiator":bool}     onPeer: a new member's peer
//	{"ev":"connect","id":"...","initiator":bool}  its 'connect'
//	{"ev":"data","from":"...","text":"..."}       a message from a member
//	{"ev":"leave","id":"..."}                     onLeave
//	{"ev":"closed","peers":N,"foreign":N,"announces":N}
//	                        after close, once every peer has emitted 'close': N peers left in
//	                        room.peers, signals heard that were for other members (room.js must
//	                        ignore them), this member's own announces heard back
//	{"ev":"fault","error":{"code":"","message":"..."}}  a peer's 'error', a bad command, an exception
//
// console goes to stderr (saved under interop/out/), so stdout carries only
// the events.
import { Console } from 'node:console'
import { createRequire } from 'node:module'

globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr })

const require = createRequire(import.meta.url)
const { emit, version, readCommands } = require('./stdio.cjs')
const SimplePeer = require('simple-peer')
const wrtc = require('@roamhq/wrtc')
// room.js uses the global WebSocket; Node 20 has none, and ws on every
// Node keeps the client the same. The subclass watches what the server
// relays, beside room.js's onmessage, for the events above.
const { WebSocket } = require('ws')
let myId = null
let subscribed = false
let foreign = 0
let announces = 0
globalThis.WebSocket = class extends WebSocket {
  constructor (...args) {
    super(...args)
    this.addEventListener('message', ev => {
      let d
      try { d = JSON.parse(ev.data).data } catch { return }
      if (!d) return
      if (d.type === 'announce' && d.from === myId) {
        announces++
        if (!subscribed) emit({ ev: 'subscribed' })
        subscribed = true
      }
      if (d.type === 'signal' && d.to !== myId) foreign++
    })
  }
}

const { joinRoom } = await import('../../examples/signalserver/js/room.js')

const fault = (code, message) => emit({ ev: 'fault', error: { code, message } })

let room = null
const closes = new Map() // peer → a promise of its 'close'

function join ({ url, room: name, id }) {
  if (room) throw new Error('already joined')
  myId = id
  room = joinRoom({
    url,
    room: name,
    id,
    SimplePeer,
    peerOpts: { wrtc, config: { iceServers: [] } },
    onPeer (other, p) {
      emit({ ev: 'peer', id: other, initiator: p.initiator })
      // After room.js's own 'close' listener, which onLeave runs from.
      closes.set(p, new Promise(resolve => p.once('close', resolve)))
      p.on('connect', () => emit({ ev: 'connect', id: other, initiator: p.initiator }))
      p.on('data', d => emit({ ev: 'data', from: other, text: String(d) }))
      p.on('error', err => fault(err.code || '', other + ': ' + (err.stack || err)))
    },
    onLeave: other => emit({ ev: 'leave', id: other })
  })
}

function send ({ to, text }) {
  const p = room && room.peers.get(to)
  if (!p) throw new Error('no peer ' + to)
  p.send(text)
}

function close () {
  if (!room) throw new Error('not joined')
  const pending = [...room.peers.values()].map(p => closes.get(p))
  room.close()
  Promise.all(pending).then(() => emit({ ev: 'closed', peers: room.peers.size, foreign, announces }))
}

readCommands(msg => {
  try {
    switch (msg.cmd) {
      case 'join': join(msg); break
      case 'send': send(msg); break
      case 'close': close(); break
      default: throw new Error('unknown command ' + msg.cmd)
    }
  } catch (err) {
    fault('', msg.cmd + ': ' + (err.stack || err))
  }
}, err => fault('', 'bad JSON from Go: ' + err.message))
process.on('uncaughtException', err => fault('', 'uncaught: ' + (err.stack || err)))
process.on('unhandledRejection', err => fault('', 'unhandled rejection: ' + (err && err.stack ? err.stack : err)))

emit({
  ev: 'ready',
  versions: {
    node: process.version,
    simplePeer: version('simple-peer'),
    wrtc: version('@roamhq/wrtc'),
    ws: version('ws')
  }
})
