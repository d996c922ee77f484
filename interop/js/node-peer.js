// node-peer.js: a simple-peer in Node, remote-controlled by the Go test
// over stdin/stdout, one JSON object a line each way (driver.js). Anything
// else (simple-peer's warnings, DEBUG=simple-peer output) goes to stderr,
// which the test saves under interop/out/.
//
// Which simple-peer and which WebRTC implementation come from the
// environment (node_test.go sets them; the defaults are the original pair):
//
//   INTEROP_PEER  simple-peer (9.11.1, CommonJS, takes opts.wrtc) or
//                 @thaunknown/simple-peer (10.x, ESM only, no opts.wrtc:
//                 it imports RTCPeerConnection & co. from webrtc-polyfill)
//   INTEROP_WRTC  @roamhq/wrtc (libwebrtc), node-datachannel/polyfill
//                 (libdatachannel), or webrtc-polyfill (the fork's own
//                 default, libdatachannel underneath)
//
// For @thaunknown/simple-peer on anything but webrtc-polyfill, a module
// resolve hook (wrtc-hook.mjs) points its `import ... from 'webrtc-polyfill'`
// at webrtc-shim.mjs, which re-exports INTEROP_WRTC's classes: the fork
// runs unchanged, on the implementation under test.
'use strict'
const path = require('path')
const { pathToFileURL } = require('url')
const { createDriver } = require('./driver.js')
const { emit, version, readCommands } = require('./stdio.cjs')

const PEER = process.env.INTEROP_PEER || 'simple-peer'
const WRTC = process.env.INTEROP_WRTC || '@roamhq/wrtc'

function wrtcPackage (spec) {
  return spec.startsWith('node-datachannel') ? 'node-datachannel' : spec
}

// adapted lists what node-peer.js changes in the WebRTC implementation
// for the simple-peer under test (reported in the ready event).
const adapted = []

// plainDescriptions: createOffer and createAnswer resolve plain
// {type, sdp} objects (RTCSessionDescriptionInit, as the spec has them
// resolve). node-datachannel's polyfill resolves RTCSessionDescription
// instances whose sdp is a getter only, and simple-peer assigns offer.sdp
// (sdpTransform, and filterTrickle with trickle off) before
// setLocalDescription: unadapted, every peer dies with ERR_CREATE_OFFER /
// ERR_CREATE_ANSWER "Cannot set property sdp of #<RTCSessionDescription>
// which has only a getter".
function plainDescriptions (wrtc) {
  const Base = wrtc.RTCPeerConnection
  class RTCPeerConnection extends Base {
    async createOffer (...args) {
      const d = await super.createOffer(...args)
      return { type: d.type, sdp: d.sdp }
    }

    async createAnswer (...args) {
      const d = await super.createAnswer(...args)
      return { type: d.type, sdp: d.sdp }
    }
  }
  adapted.push('createOffer/createAnswer resolve plain {type, sdp} (the polyfill\'s sdp is read-only; simple-peer assigns it)')
  return Object.assign({}, wrtc, { RTCPeerConnection })
}

function loadWrtc (spec) {
  const wrtc = require(spec)
  if (spec === 'node-datachannel/polyfill' && process.env.INTEROP_NO_ADAPT === undefined) return plainDescriptions(wrtc)
  return wrtc
}

async function load () {
  if (PEER === 'simple-peer') {
    if (WRTC === 'webrtc-polyfill') throw new Error('simple-peer 9 takes opts.wrtc: use @roamhq/wrtc or node-datachannel/polyfill')
    return { SimplePeer: require('simple-peer'), wrtc: loadWrtc(WRTC) }
  }
  if (PEER !== '@thaunknown/simple-peer') throw new Error('unknown INTEROP_PEER ' + PEER)
  if (WRTC !== 'webrtc-polyfill') {
    const { register } = require('module')
    register(pathToFileURL(path.join(__dirname, 'wrtc-hook.mjs')), {
      data: { shim: pathToFileURL(path.join(__dirname, 'webrtc-shim.mjs')).href, wrtc: WRTC }
    })
  }
  const mod = await import('@thaunknown/simple-peer')
  return { SimplePeer: mod.default } // no wrtc: the fork ignores opts.wrtc
}

const t0 = process.hrtime.bigint()
const now = () => Number(process.hrtime.bigint() - t0) / 1e6

process.on('uncaughtException', err => {
  emit({ ev: 'fault', error: { code: err.code || '', message: 'uncaught: ' + (err.stack || err) } })
})

load().then(({ SimplePeer, wrtc }) => {
  const handle = createDriver({ SimplePeer, wrtc, now }, emit)
  readCommands(handle, err => emit({ ev: 'fault', error: { code: '', message: 'bad JSON from Go: ' + err.message } }))
  const versions = { node: process.version, peer: PEER, peerVersion: version(PEER), wrtc: WRTC, wrtcVersion: version(wrtcPackage(WRTC)) }
  if (WRTC !== '@roamhq/wrtc') versions.libdatachannel = require('node-datachannel').getLibraryVersion()
  if (adapted.length) versions.adapted = adapted
  emit({ ev: 'ready', versions })
}, err => {
  console.error('node-peer.js: cannot load ' + PEER + ' on ' + WRTC + ': ' + (err.stack || err))
  process.exit(1)
})
