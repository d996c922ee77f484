// ndc-no-ice-transport.mjs: now and then libdatachannel's
// setRemoteDescription fails with "Got a remote candidate without ICE
// transport" while two peers connect on loopback. Two
// @thaunknown/simple-peer peers on their default webrtc-polyfill
// (node-datachannel underneath, no Go involved) connect a number of
// times; each failure is recorded with the error that ended it.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { version, report, within, linkPeers } = require('./common.cjs')

const tries = Number(process.env.REPRO_ROUNDS || 20)
const needle = 'Got a remote candidate without ICE transport'

async function attempt (Peer, trickle) {
  const a = new Peer({ initiator: true, trickle })
  const b = new Peer({ trickle })
  const errors = []
  for (const [name, p] of [['initiator', a], ['non-initiator', b]]) {
    p.on('error', err => errors.push({ peer: name, code: err.code, message: String(err.message || err) }))
  }
  let connected = true
  try {
    await within(linkPeers(a, b), trickle ? 10000 : 15000, 'connect') // without trickle each side waits its 5 s iceCompleteTimeout (ndc-no-end-of-candidates)
  } catch (err) {
    connected = false
  }
  a.destroy()
  b.destroy()
  return { connected, errors }
}

async function main () {
  const { default: Peer } = await import('@thaunknown/simple-peer')
  const out = { tries: 0, failed: 0, withThatError: 0, first: null, otherFailures: [] }
  for (let i = 0; i < tries; i++) {
    const r = await attempt(Peer, i % 2 === 0)
    out.tries++
    if (!r.connected || r.errors.length) {
      out.failed++
      if (out.otherFailures.length < 3 && !r.errors.some(e => e.message.includes(needle))) out.otherFailures.push({ trickle: i % 2 === 0, ...r })
    }
    if (r.errors.some(e => e.message.includes(needle))) {
      out.withThatError++
      if (!out.first) out.first = { trickle: i % 2 === 0, ...r }
    }
  }
  report({
    id: 'ndc-no-ice-transport',
    versions: {
      '@thaunknown/simple-peer': version('@thaunknown/simple-peer'),
      'webrtc-polyfill': version('webrtc-polyfill'),
      'node-datachannel': version('node-datachannel'),
      libdatachannel: require('node-datachannel').getLibraryVersion(),
      node: process.version
    },
    reproduced: out.withThatError > 0,
    ...out
  })
}

main().catch(err => report({ id: 'ndc-no-ice-transport', error: String(err.stack || err) }))
