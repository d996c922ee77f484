// ndc-ice-closed-on-remote-close.cjs: now and then node-datachannel's
// polyfill reports iceConnectionState (and connectionState) 'closed' on
// the side that did not close, when the remote side closes. The spec has
// 'closed' only after the local close() (libwebrtc, the control, stays
// connected until its consent checks fail); simple-peer turns an
// iceConnectionState of 'closed' seen at any state change event into
// ERR_ICE_CONNECTION_CLOSED. Two RTCPeerConnections connect with a data
// channel, the first closes, and the second's states are recorded at each
// event, a number of rounds.
'use strict'

const { version, report, sleep, within, once, rawPair } = require('./common.cjs')

const rounds = Number(process.env.REPRO_ROUNDS || 20)

async function round (wrtc) {
  const { a, b, dcB } = await rawPair(wrtc)
  const states = []
  const start = Date.now()
  // each event with both states as the getters read them then
  const note = ev => states.push({ ev, ice: b.iceConnectionState, connection: b.connectionState, ms: Date.now() - start })
  b.addEventListener('iceconnectionstatechange', () => note('iceconnectionstatechange'))
  b.addEventListener('connectionstatechange', () => note('connectionstatechange'))
  const channelClosed = once(dcB, 'close').then(() => note('channel close'))
  a.close()
  let channelClose = true
  try {
    await within(channelClosed, 5000, "the channel's close")
  } catch (err) {
    channelClose = false
  }
  await sleep(200) // state changes that follow the channel's close
  note('200 ms later')
  const iceClosed = states.some(s => s.ice === 'closed')
  const connectionClosed = states.some(s => s.connection === 'closed')
  b.close()
  return { iceClosed, connectionClosed, channelClose, states }
}

async function run (wrtc, n) {
  const out = { rounds: 0, iceClosed: 0, connectionClosed: 0, first: null }
  for (let i = 0; i < n; i++) {
    const r = await round(wrtc)
    out.rounds++
    if (r.connectionClosed) out.connectionClosed++
    if (r.iceClosed) out.iceClosed++
    if ((r.iceClosed || r.connectionClosed) && !out.first) out.first = r
  }
  if (!out.first) out.last = await round(wrtc)
  return out
}

async function main () {
  const polyfill = await run(require('node-datachannel/polyfill'), rounds)
  const control = await run(require('@roamhq/wrtc'), Math.min(rounds, 5))
  report({
    id: 'ndc-ice-closed-on-remote-close',
    versions: {
      'node-datachannel': version('node-datachannel'),
      libdatachannel: require('node-datachannel').getLibraryVersion(),
      '@roamhq/wrtc': version('@roamhq/wrtc'),
      node: process.version
    },
    // the bug: 'closed' without a local close()
    reproduced: polyfill.iceClosed > 0 || polyfill.connectionClosed > 0,
    controlOK: control.iceClosed === 0 && control.connectionClosed === 0,
    polyfill,
    control
  })
}

main().catch(err => report({ id: 'ndc-ice-closed-on-remote-close', error: String(err.stack || err) }))
