// ndc-no-end-of-candidates.cjs: node-datachannel's polyfill never fires
// the end-of-candidates icecandidate event (candidate null) that the W3C
// spec fires when gathering completes, and that simple-peer with trickle
// off waits for. One RTCPeerConnection gathers for an offer with a data
// channel; @roamhq/wrtc (libwebrtc) does the same as the control.
'use strict'

const { version, report, sleep, within } = require('./common.cjs')

async function gather (wrtc) {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] })
  const events = []
  const start = Date.now()
  pc.addEventListener('icecandidate', e => {
    events.push({ ev: 'icecandidate', candidate: e.candidate ? 'a candidate' : e.candidate, ms: Date.now() - start })
  })
  pc.addEventListener('icegatheringstatechange', () => {
    events.push({ ev: 'icegatheringstatechange', state: pc.iceGatheringState, ms: Date.now() - start })
  })
  pc.createDataChannel('x')
  const complete = new Promise(resolve => {
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() })
  })
  const offer = await pc.createOffer()
  await pc.setLocalDescription({ type: offer.type, sdp: offer.sdp })
  let completed = true
  try {
    await within(complete, 10000, 'gathering complete')
  } catch (err) {
    completed = false
  }
  await sleep(500) // the null candidate may follow the state change
  pc.close()
  const candidates = events.filter(e => e.ev === 'icecandidate' && e.candidate === 'a candidate').length
  const endOfCandidates = events.some(e => e.ev === 'icecandidate' && !e.candidate)
  return { gatheringCompleted: completed, candidates, endOfCandidates, events }
}

async function main () {
  const polyfill = await gather(require('node-datachannel/polyfill'))
  const control = await gather(require('@roamhq/wrtc'))
  report({
    id: 'ndc-no-end-of-candidates',
    versions: {
      'node-datachannel': version('node-datachannel'),
      libdatachannel: require('node-datachannel').getLibraryVersion(),
      '@roamhq/wrtc': version('@roamhq/wrtc'),
      node: process.version
    },
    // the bug: gathering completes, candidates were fired, but no null one
    reproduced: polyfill.gatheringCompleted && polyfill.candidates > 0 && !polyfill.endOfCandidates,
    controlOK: control.endOfCandidates,
    polyfill,
    control
  })
}

main().catch(err => report({ id: 'ndc-no-end-of-candidates', error: String(err.stack || err) }))
