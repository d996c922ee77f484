// common.cjs: helpers for the upstream reproductions in this directory.
// Each reproduction is a standalone Node script (no Go involved) that
// prints one line `REPRO {json}` with its findings and exits 0; the Go test
// TestUpstreamRepros (upstream_test.go) runs them and checks the findings.
'use strict'

const { version } = require('../stdio.cjs')

// report prints the findings and ends the process: some WebRTC
// implementations keep threads that would hold it open.
function report (findings) {
  process.stdout.write('REPRO ' + JSON.stringify(findings) + '\n', () => process.exit(0))
}

function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

// within resolves as promise does, or rejects after ms.
function within (promise, ms, what) {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(what + ': not within ' + ms + ' ms')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// once resolves with the first emission of event on an EventEmitter or
// EventTarget.
function once (target, event) {
  return new Promise(resolve => {
    if (target.once) target.once(event, (...args) => resolve(args))
    else target.addEventListener(event, e => resolve([e]), { once: true })
  })
}

// linkPeers passes each simple-peer's signals to the other and resolves
// when both emit connect.
function linkPeers (a, b) {
  a.on('signal', s => { if (!b.destroyed) b.signal(s) })
  b.on('signal', s => { if (!a.destroyed) a.signal(s) })
  return Promise.all([once(a, 'connect'), once(b, 'connect')])
}

// recordEvents notes, in order and with a time since start, which of
// events a simple-peer (or any EventEmitter) emits.
function recordEvents (emitter, events, start) {
  const seen = []
  for (const ev of events) {
    emitter.on(ev, arg => {
      const entry = { ev, ms: Date.now() - start }
      if (ev === 'error') entry.code = arg && arg.code
      seen.push(entry)
    })
  }
  return seen
}

// rawPair connects two RTCPeerConnections of wrtc with a data channel
// (plain W3C calls, candidates trickled as they come) and resolves when the
// channel is open on both sides.
async function rawPair (wrtc) {
  const a = new wrtc.RTCPeerConnection({ iceServers: [] })
  const b = new wrtc.RTCPeerConnection({ iceServers: [] })
  const trickle = (from, to) => {
    const queued = []
    let ready = false
    from.addEventListener('icecandidate', e => {
      if (!e.candidate || !e.candidate.candidate) return
      const c = { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid }
      if (ready) to.addIceCandidate(c).catch(() => {})
      else queued.push(c)
    })
    return () => {
      ready = true
      for (const c of queued.splice(0)) to.addIceCandidate(c).catch(() => {})
    }
  }
  const toB = trickle(a, b)
  const toA = trickle(b, a)
  const dcA = a.createDataChannel('x')
  const dcB = new Promise(resolve => b.addEventListener('datachannel', e => resolve(e.channel), { once: true }))
  const plain = d => ({ type: d.type, sdp: d.sdp })
  const offer = plain(await a.createOffer())
  await a.setLocalDescription(offer)
  await b.setRemoteDescription(offer)
  toB()
  const answer = plain(await b.createAnswer())
  await b.setLocalDescription(answer)
  await a.setRemoteDescription(answer)
  toA()
  const opened = ch => ch.readyState === 'open' ? Promise.resolve() : once(ch, 'open')
  const channelB = await within(dcB, 10000, 'datachannel')
  await within(Promise.all([opened(dcA), opened(channelB)]), 10000, 'channels open')
  return { a, b, dcA, dcB: channelB }
}

module.exports = { version, report, sleep, within, once, linkPeers, recordEvents, rawPair }
