// relay-peer.js: simple-peer@9.11.1 on @roamhq/wrtc for bench/relay, the
// TURN-relay throughput benchmark. The Go program drives it over
// stdin/stdout, one JSON object a line each way; anything else goes to
// stderr.
//
// Commands ({op}):
//   {op:'new', id, initiator, iceServers}  a peer forced through the relay
//                                          (iceTransportPolicy 'relay')
//   {op:'signal', id, data}                a signal from the remote peer
//   {op:'recv', id, bytes, seed}           expect bytes of pattern(seed)
//   {op:'send', id, bytes, seed, chunk}    write bytes of pattern(seed)
//   {op:'stats', id}                       the selected pair's RTT
//   {op:'destroy', id}
// Events ({ev}): ready, signal, connect, sent {t0}, received {t1},
// stats {rtt}, error, close, fault. Times are CLOCK_MONOTONIC nanoseconds
// (process.hrtime.bigint) as decimal strings, the clock the Go side reads
// too, so one run is timed from the first byte written (sender) to the
// last byte verified (receiver) whichever process each side lives in.
//
// Sending is what a simple-peer user writes for bulk data: the duplex
// stream's peer.write(chunk) and, when it returns false, waiting for
// 'drain'. simple-peer holds the write callback while the channel has more
// than 64 KiB buffered and releases it on bufferedamountlow, so that is
// the backpressure. Receiving is peer.on('data') (a Buffer per message).
'use strict'
const readline = require('readline')
const SimplePeer = require('simple-peer')
const wrtc = require('@roamhq/wrtc')

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}
const now = () => process.hrtime.bigint().toString()

// pattern returns bytes of xorshift32 output from seed, little-endian; the
// Go side (bench/relay/pattern.go) makes the same bytes.
function pattern (bytes, seed) {
  const out = Buffer.alloc(bytes + 3)
  let x = seed >>> 0 || 1
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out.writeUInt32LE(x, i)
  }
  return out.subarray(0, bytes)
}

const peers = new Map()

function peerOf (msg) {
  const p = peers.get(msg.id)
  if (!p) throw new Error('no peer ' + msg.id)
  return p
}

const ops = {
  new (msg) {
    const id = msg.id
    const peer = new SimplePeer({
      initiator: !!msg.initiator,
      wrtc,
      config: { iceServers: msg.iceServers, iceTransportPolicy: 'relay' }
    })
    peers.set(id, peer)
    peer.on('signal', data => emit({ ev: 'signal', id, data }))
    peer.on('connect', () => emit({ ev: 'connect', id }))
    peer.on('error', err => emit({ ev: 'error', id, code: err.code || '', message: String(err.message || err) }))
    peer.on('close', () => {
      peers.delete(id)
      emit({ ev: 'close', id })
    })
  },
  signal (msg) { peerOf(msg).signal(msg.data) },
  recv (msg) {
    const peer = peerOf(msg)
    const want = pattern(msg.bytes, msg.seed)
    let got = 0
    let failed = false
    peer.on('data', chunk => {
      if (failed) return
      if (got + chunk.length > want.length || !chunk.equals(want.subarray(got, got + chunk.length))) {
        failed = true
        emit({ ev: 'error', id: msg.id, code: 'CORRUPT', message: 'data corrupted at byte ' + got })
        return
      }
      got += chunk.length
      if (got === want.length) emit({ ev: 'received', id: msg.id, t1: now() })
    })
  },
  send (msg) {
    const peer = peerOf(msg)
    const data = pattern(msg.bytes, msg.seed)
    const chunk = msg.chunk || 16384
    let off = 0
    const pump = () => {
      while (off < data.length) {
        const ok = peer.write(data.subarray(off, off + chunk))
        off += chunk
        if (!ok) return peer.once('drain', pump)
      }
    }
    emit({ ev: 'sent', id: msg.id, t0: now() })
    pump()
  },
  async stats (msg) {
    const peer = peerOf(msg)
    const report = await new Promise((resolve, reject) => peer.getStats((err, r) => err ? reject(err) : resolve(r)))
    let rtt = null
    for (const s of report) {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') {
        rtt = s.currentRoundTripTime
      }
    }
    emit({ ev: 'stats', id: msg.id, rtt })
  },
  destroy (msg) {
    const p = peers.get(msg.id)
    if (p) p.destroy()
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', async line => {
  if (!line.trim()) return
  let msg
  try {
    msg = JSON.parse(line)
    const op = ops[msg.op]
    if (!op) throw new Error('unknown op ' + msg.op)
    await op(msg)
  } catch (err) {
    emit({ ev: 'fault', id: msg && msg.id, message: String(err.stack || err) })
  }
})
// Go closes stdin when it is done: leave at once, whatever wrtc still holds.
rl.on('close', () => process.exit(0))
process.on('uncaughtException', err => emit({ ev: 'fault', message: 'uncaught: ' + (err.stack || err) }))
emit({ ev: 'ready', versions: { node: process.version, simplePeer: require('simple-peer/package.json').version, wrtc: require('@roamhq/wrtc/package.json').version } })
