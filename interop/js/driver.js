// driver.js: a remote-controlled simple-peer, shared by the Node process
// (node-peer.js) and the Chromium page (page.html). The Go test sends
// commands ({op: ...}) and gets events ({ev: ...}) back as JSON objects; the
// transport (stdin/stdout lines or a WebSocket) is the host's business.
//
// Every peer is a real simple-peer instance (simple-peer@9.11.1, or
// @thaunknown/simple-peer@10.1.2 in Node, same API) with objectMode: true, so
// that received text arrives as a string and binary as a Buffer (a
// Uint8Array in the fork; without objectMode the stream turns strings into
// Buffers and drops empty messages).
;(function (root) {
  'use strict'

  // Message contents are generated from (kind, size, seed) by both sides, so
  // each can check the other's bytes exactly. Keep in sync with pattern() in
  // the Go tests.
  function patternByte (seed, i) {
    return (seed * 31 + i * 7 + (i >>> 8)) & 0xff
  }
  function patternChar (seed, i) {
    return 97 + ((seed + i) % 26) // a..z
  }
  function makeBinary (size, seed) {
    const b = new Uint8Array(size)
    for (let i = 0; i < size; i++) b[i] = patternByte(seed, i)
    return b
  }
  function makeText (size, seed) {
    const parts = []
    const chunk = []
    for (let i = 0; i < size; i++) {
      chunk.push(patternChar(seed, i))
      if (chunk.length === 8192) {
        parts.push(String.fromCharCode.apply(null, chunk))
        chunk.length = 0
      }
    }
    parts.push(String.fromCharCode.apply(null, chunk))
    return parts.join('')
  }

  // FNV-1a, 32 bits, over bytes (text: its UTF-8, which is ASCII here).
  function fnv1a (bytes) {
    let h = 0x811c9dc5
    for (let i = 0; i < bytes.length; i++) {
      h ^= bytes[i]
      h = Math.imul(h, 0x01000193)
    }
    return h >>> 0
  }
  function utf8 (s) {
    if (typeof TextEncoder !== 'undefined') return new TextEncoder().encode(s)
    return Buffer.from(s, 'utf8')
  }

  function describeData (data) {
    if (typeof data === 'string') {
      const b = utf8(data)
      return { type: 'string', len: b.length, hash: fnv1a(b) }
    }
    if (data instanceof Uint8Array) { // Node Buffer and the browser's Buffer polyfill
      return { type: 'binary', ctor: data.constructor && data.constructor.name, len: data.length, hash: fnv1a(data) }
    }
    return { type: 'other:' + Object.prototype.toString.call(data), len: -1, hash: 0 }
  }

  function errInfo (err) {
    return { code: (err && err.code) || '', message: String((err && err.message) || err) }
  }

  // createDriver returns handle(msg), which runs one command. emit(obj) sends
  // an event to Go. env: { SimplePeer, wrtc (Node only), now(), media (browser
  // only: helpers for getUserMedia and stats) }.
  function createDriver (env, emit) {
    const peers = new Map()
    // ids of the peers that have closed: a signal the Go peer sent before
    // it learned of the close is dropped, as an app drops a signal for a
    // peer it has destroyed.
    const closed = new Set()

    function peerOf (msg) {
      const p = peers.get(msg.id)
      if (!p) throw new Error('no peer ' + msg.id)
      return p
    }

    const ops = {
      new (msg) {
        const opts = {
          initiator: !!msg.initiator,
          trickle: msg.trickle !== false,
          config: { iceServers: [] },
          objectMode: true
        }
        if (env.wrtc) opts.wrtc = env.wrtc
        const id = msg.id
        const t0 = env.now()
        const peer = new env.SimplePeer(opts)
        const state = { peer, streams: [], videos: [] }
        peers.set(id, state)
        peer.on('signal', data => emit({ ev: 'signal', id, data }))
        peer.on('connect', () => emit({ ev: 'connect', id, ms: env.now() - t0, channelName: peer.channelName }))
        peer.on('data', data => emit(Object.assign({ ev: 'data', id }, describeData(data))))
        peer.on('negotiated', () => emit({ ev: 'negotiated', id }))
        peer.on('iceStateChange', (ice, gathering) => emit({ ev: 'iceStateChange', id, ice, gathering }))
        peer.on('error', err => emit(Object.assign({ ev: 'error', id }, errInfo(err))))
        peer.on('close', () => {
          emit({ ev: 'close', id })
          for (const v of state.videos) { v.srcObject = null; v.remove() }
          for (const s of state.streams) s.getTracks().forEach(t => t.stop())
          peers.delete(id)
          closed.add(id)
        })
        peer.on('track', (track, stream) => {
          emit({ ev: 'track', id, kind: track.kind, streamId: stream.id })
          if (env.media && track.kind === 'video') state.videos.push(env.media.play(stream))
        })
        peer.on('stream', stream => emit({ ev: 'stream', id, streamId: stream.id, tracks: stream.getTracks().length }))
      },
      signal (msg) {
        if (closed.has(msg.id)) return
        peerOf(msg).peer.signal(msg.data)
      },
      send (msg) {
        const data = msg.kind === 'text' ? makeText(msg.size, msg.seed) : makeBinary(msg.size, msg.seed)
        peerOf(msg).peer.send(data)
      },
      // sendMany sends count messages of size bytes, cut from one pattern
      // of count*size bytes, back to back (the data channel buffers them).
      sendMany (msg) {
        const all = makeBinary(msg.size * msg.count, msg.seed)
        const peer = peerOf(msg).peer
        for (let i = 0; i < msg.count; i++) peer.send(all.subarray(i * msg.size, (i + 1) * msg.size))
      },
      negotiate (msg) { peerOf(msg).peer.negotiate() },
      addTransceiver (msg) { peerOf(msg).peer.addTransceiver(msg.kind, msg.init) },
      destroy (msg) { peerOf(msg).peer.destroy() },
      async addMedia (msg) {
        const st = peerOf(msg)
        const stream = await env.media.getUserMedia()
        st.streams.push(stream)
        st.peer.addStream(stream)
        return { tracks: stream.getTracks().map(t => t.kind) }
      },
      // The transceivers of the peer connection, to compare negotiated
      // directions with what simple-peer ↔ simple-peer would get.
      transceivers (msg) {
        const st = peerOf(msg)
        return st.peer._pc.getTransceivers().map(t => ({
          mid: t.mid,
          kind: t.receiver.track.kind,
          direction: t.direction,
          currentDirection: t.currentDirection,
          sending: !!t.sender.track
        }))
      },
      // The ICE credentials of the current descriptions (an ICE restart
      // changes them) and the connection's states.
      iceInfo (msg) {
        const pc = peerOf(msg).peer._pc
        const ufrag = d => { const m = d && /^a=ice-ufrag:(.*)$/m.exec(d.sdp); return m ? m[1].trim() : '' }
        return {
          localUfrag: ufrag(pc.localDescription),
          remoteUfrag: ufrag(pc.remoteDescription),
          iceConnectionState: pc.iceConnectionState,
          signalingState: pc.signalingState
        }
      },
      // How far the peer got in tearing itself down, and forget: drop it
      // (for a package that tears down without emitting close, so that
      // cleanup does not wait for one).
      teardown (msg) {
        const st = peerOf(msg)
        const p = st.peer
        const r = { destroyed: !!p.destroyed, destroying: !!p._destroying, pcClosed: p._pc === null, channelClosed: p._channel === null }
        if (msg.forget && r.pcClosed) {
          peers.delete(msg.id)
          closed.add(msg.id)
        }
        return r
      },
      // The selected candidate pair, from getStats: for a failure's report.
      async pair (msg) {
        const pc = peerOf(msg).peer._pc
        if (!pc) return null
        const stats = await pc.getStats()
        const byId = new Map()
        stats.forEach(s => byId.set(s.id, s))
        let pair = null
        stats.forEach(s => {
          if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId)
        })
        if (!pair) {
          stats.forEach(s => {
            if (s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded'))) pair = s
          })
        }
        if (!pair) return null
        const name = c => c ? c.candidateType + ' ' + (c.address || c.ip) + ':' + c.port : '?'
        return {
          local: name(byId.get(pair.localCandidateId)),
          remote: name(byId.get(pair.remoteCandidateId)),
          state: pair.state,
          bytesSent: pair.bytesSent,
          bytesReceived: pair.bytesReceived
        }
      },
      async stats (msg) {
        const st = peerOf(msg)
        return env.media.stats(st.peer._pc)
      }
    }

    return async function handle (msg) {
      const op = ops[msg.op]
      try {
        if (!op) throw new Error('unknown op ' + msg.op)
        const result = await op(msg)
        if (msg.req) emit({ ev: 'reply', req: msg.req, id: msg.id, result: result || null })
      } catch (err) {
        if (msg.req) emit({ ev: 'reply', req: msg.req, id: msg.id, error: errInfo(err) })
        else emit({ ev: 'fault', id: msg.id, op: msg.op, error: errInfo(err) })
      }
    }
  }

  const api = { createDriver, makeBinary, makeText, fnv1a, describeData }
  if (typeof module !== 'undefined' && module.exports) module.exports = api
  else root.InteropDriver = api
})(typeof self !== 'undefined' ? self : this)
