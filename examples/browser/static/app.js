// app.js: the page's half of examples/browser. It uses the browser's own
// RTCPeerConnection and carries signals over a WebSocket in simple-peer's
// format, one JSON object per message:
//
//   {"type":"offer","sdp":"..."}                  Go → page
//   {"type":"answer","sdp":"..."}                 page → Go
//   {"type":"candidate","candidate":{...}}        both ways
//   {"type":"renegotiate","renegotiate":true}     page → Go: "offer again"
//   {"type":"transceiverRequest",...}             page → Go: "add an m-line"
//
// The Go peer is the initiator: it creates the data channel and makes every
// offer. This page only answers, as a simple-peer non-initiator does.
'use strict'

const $ = id => document.getElementById(id)

function log (kind, text) {
  const line = document.createElement('div')
  line.className = kind
  line.textContent = ({ me: 'me: ', go: 'go: ', error: 'error: ' }[kind] || '') + text
  $('log').append(line)
  $('log').scrollTop = $('log').scrollHeight
}

function setStatus (state, text) {
  $('status').dataset.state = state
  $('status').textContent = text
}

function enableChat (on) {
  $('text').disabled = $('send').disabled = !on
  if (on) $('text').focus()
}

const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws')
const pc = new RTCPeerConnection({ iceServers: [] }) // no STUN: this machine only
let channel = null
let cameraStarted = false

function signal (msg) {
  ws.send(JSON.stringify(msg))
}

// ---- Signals from Go, handled one at a time and in order ----

let signals = Promise.resolve()
const earlyCandidates = [] // candidates that came before their offer

ws.onopen = () => setStatus('signalling', 'signalling…')
ws.onclose = () => {
  setStatus('closed', 'closed: the server is gone (reload to try again)')
  enableChat(false)
  pc.close()
}
ws.onmessage = e => {
  const msg = JSON.parse(e.data)
  signals = signals.then(() => onSignal(msg)).catch(err => log('error', `${msg.type}: ${err}`))
}

async function onSignal (msg) {
  switch (msg.type) {
    case 'offer':
      await pc.setRemoteDescription(msg)
      for (const c of earlyCandidates.splice(0)) await pc.addIceCandidate(c)
      await pc.setLocalDescription() // creates the answer
      signal({ type: 'answer', sdp: pc.localDescription.sdp })
      requestMissingTransceivers()
      if (!cameraStarted) {
        // After the first answer, so that the camera cannot take the
        // place of an m-line of that first offer before it is answered.
        cameraStarted = true
        startCamera()
      }
      break
    case 'candidate':
      if (pc.remoteDescription) await pc.addIceCandidate(msg.candidate)
      else earlyCandidates.push(msg.candidate)
      break
    default:
      // A non-initiator never gets answers or negotiation requests.
      log('error', 'unexpected signal ' + JSON.stringify(msg))
  }
}

pc.onicecandidate = e => {
  // A null candidate ends gathering, which simple-peer never signals.
  if (!e.candidate || !e.candidate.candidate) return
  const { candidate, sdpMLineIndex, sdpMid } = e.candidate
  signal({ type: 'candidate', candidate: { candidate, sdpMLineIndex, sdpMid } })
}

pc.onconnectionstatechange = () => {
  log('info', 'connection ' + pc.connectionState)
  if (pc.connectionState === 'failed') setStatus('closed', 'connection failed (reload to try again)')
}

// ---- Sending the camera ----

// Like simple-peer's addStream on a non-initiator: add the track, then ask
// the initiator to offer again. The browser puts the track on the
// transceiver of Go's clip, whose m-line is sendrecv and whose sending side
// this page has not used, so the new offer is all it takes.
async function startCamera () {
  let stream
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } })
  } catch (err) {
    log('error', `camera: ${err.message} (the chat and the clip still work)`)
    return
  }
  for (const track of stream.getTracks()) pc.addTrack(track, stream)
  log('info', 'camera on: sending it to Go')
  signal({ type: 'renegotiate', renegotiate: true })
}

// As simple-peer does after each answer: a local track that no m-line of
// the offer could carry asks the initiator for a transceiver of its own.
const requested = new WeakSet()
function requestMissingTransceivers () {
  for (const t of pc.getTransceivers()) {
    if (t.mid || !t.sender.track || requested.has(t)) continue
    requested.add(t)
    signal({ type: 'transceiverRequest', transceiverRequest: { kind: t.sender.track.kind, init: { direction: 'recvonly' } } })
  }
}

// ---- Receiving: the data channel and Go's two videos ----

pc.ondatachannel = e => {
  channel = e.channel
  channel.binaryType = 'arraybuffer'
  const onOpen = () => {
    setStatus('connected', `connected to the Go peer (data channel ${channel.label.slice(0, 8)}…)`)
    enableChat(true)
  }
  if (channel.readyState === 'open') onOpen()
  else channel.onopen = onOpen
  channel.onmessage = e => log('go', typeof e.data === 'string' ? e.data : `(${e.data.byteLength} binary bytes)`)
  channel.onclose = () => {
    setStatus('closed', 'closed: the Go peer is gone (reload to try again)')
    enableChat(false)
  }
}

// Go names its streams: "clip" is the looped file, "echo" is our camera.
pc.ontrack = e => {
  const stream = e.streams[0] || new MediaStream([e.track])
  const video = stream.id === 'echo' ? $('echo') : $('clip')
  if (video.srcObject !== stream) {
    video.srcObject = stream
    video.play().catch(() => {}) // muted autoplay: allowed everywhere
  }
}

// Under each video: its size, the frames shown so far and its clock.
setInterval(() => {
  for (const id of ['clip', 'echo']) {
    const v = $(id)
    const frames = v.getVideoPlaybackQuality().totalVideoFrames
    $(id + '-info').textContent = v.videoWidth
      ? `${v.videoWidth}×${v.videoHeight}, ${frames} frames, ${v.currentTime.toFixed(1)} s`
      : 'waiting…'
  }
}, 500)

// ---- Chat ----

$('chat').onsubmit = e => {
  e.preventDefault()
  const text = $('text').value
  if (!text || !channel || channel.readyState !== 'open') return
  channel.send(text) // a string stays text on the wire, as with simple-peer
  log('me', text)
  $('text').value = ''
}
