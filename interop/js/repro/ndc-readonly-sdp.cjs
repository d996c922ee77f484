// ndc-readonly-sdp.cjs: node-datachannel's polyfill resolves createOffer
// (and createAnswer) with an RTCSessionDescription whose sdp is a getter
// only. The W3C spec resolves them with a plain RTCSessionDescriptionInit
// dictionary, which apps (simple-peer among them) edit before
// setLocalDescription; in strict mode the assignment throws. @roamhq/wrtc
// is the control.
'use strict'

const { version, report } = require('./common.cjs')

async function offerIsEditable (wrtc) {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] })
  pc.createDataChannel('x')
  const offer = await pc.createOffer()
  const out = { kind: offer.constructor && offer.constructor.name }
  try {
    offer.sdp = offer.sdp + ''
    out.editable = true
  } catch (err) {
    out.editable = false
    out.error = String(err.message || err)
  }
  pc.close()
  return out
}

async function main () {
  const polyfill = await offerIsEditable(require('node-datachannel/polyfill'))
  const control = await offerIsEditable(require('@roamhq/wrtc'))
  report({
    id: 'ndc-readonly-sdp',
    versions: {
      'node-datachannel': version('node-datachannel'),
      '@roamhq/wrtc': version('@roamhq/wrtc'),
      node: process.version
    },
    reproduced: !polyfill.editable,
    controlOK: control.editable,
    polyfill,
    control
  })
}

main().catch(err => report({ id: 'ndc-readonly-sdp', error: String(err.stack || err) }))
