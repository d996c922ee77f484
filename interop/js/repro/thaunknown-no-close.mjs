// thaunknown-no-close.mjs: @thaunknown/simple-peer 10.1.2 emits no 'close'
// when the remote peer is destroyed. Two of its peers connect (on
// @roamhq/wrtc, through the same resolve hook the interop suite uses, so
// that libdatachannel's own quirks stay out of it); one is destroyed; the
// other should emit 'close' as simple-peer 9.11.1 does (the control). A
// third run applies the fix suggested in ../../upstream/README.md
// (thaunknown-no-close) to a subclass.
import { createRequire, register } from 'node:module'
import { pathToFileURL } from 'node:url'
import path from 'node:path'

const require = createRequire(import.meta.url)
const { version, report, within, once, linkPeers, recordEvents } = require('./common.cjs')
const js = path.join(path.dirname(new URL(import.meta.url).pathname), '..')
register(pathToFileURL(path.join(js, 'wrtc-hook.mjs')), {
  data: { shim: pathToFileURL(path.join(js, 'webrtc-shim.mjs')).href, wrtc: '@roamhq/wrtc' }
})

const closeWait = 3000
const watched = ['end', 'finish', 'close', 'error']

// remoteDestroy connects two peers of Peer, destroys the first and
// returns what the second emitted within closeWait.
async function remoteDestroy (Peer, opts) {
  const a = new Peer({ initiator: true, ...opts })
  const b = new Peer(opts)
  await within(linkPeers(a, b), 10000, 'connect')
  b.on('data', () => {}) // a flowing reader, as an app has
  const start = Date.now()
  const seen = recordEvents(b, watched, start)
  a.destroy()
  let closed = true
  try {
    await within(once(b, 'close'), closeWait, "'close'")
  } catch (err) {
    closed = false
  }
  const pcClosed = b._pc === null || b._pc === undefined
  b.destroy()
  return { closed, pcClosed, events: seen }
}

// fixed returns a subclass of the fork's Peer with the suggested fix: the
// teardown its channel-close path starts answers streamx's own _destroy
// call when it is done, instead of dropping it.
function fixed (Peer) {
  const teardown = Peer.prototype._destroy
  return class extends Peer {
    __destroy (err) {
      this.end()
      teardown.call(this, () => {
        this._tornDown = true
        if (this._streamxDestroy) this._streamxDestroy()
      }, err)
    }

    _destroy (cb, err) {
      if (!this._destroying) return teardown.call(this, cb, err)
      if (this._tornDown) cb()
      else this._streamxDestroy = cb
    }
  }
}

async function main () {
  const wrtc = require('@roamhq/wrtc')
  const { default: Fork } = await import('@thaunknown/simple-peer')
  const SimplePeer = require('simple-peer')
  const fork = await remoteDestroy(Fork, {})
  const forkFixed = await remoteDestroy(fixed(Fork), {})
  const control = await remoteDestroy(SimplePeer, { wrtc })
  report({
    id: 'thaunknown-no-close',
    versions: {
      '@thaunknown/simple-peer': version('@thaunknown/simple-peer'),
      streamx: version('streamx'),
      'simple-peer': version('simple-peer'),
      '@roamhq/wrtc': version('@roamhq/wrtc'),
      node: process.version
    },
    reproduced: !fork.closed,
    controlOK: control.closed,
    fixOK: forkFixed.closed,
    fork,
    forkFixed,
    control
  })
}

main().catch(err => report({ id: 'thaunknown-no-close', error: String(err.stack || err) }))
