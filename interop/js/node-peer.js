// node-peer.js: simple-peer@9.11.1 on @roamhq/wrtc, remote-controlled by the
// Go test over stdin/stdout, one JSON object a line each way (driver.js).
// Anything else (simple-peer's warnings, DEBUG=simple-peer output) goes to
// stderr, which the test saves under interop/out/.
'use strict'
const readline = require('readline')
const SimplePeer = require('simple-peer')
const wrtc = require('@roamhq/wrtc')
const { createDriver } = require('./driver.js')

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

const t0 = process.hrtime.bigint()
const now = () => Number(process.hrtime.bigint() - t0) / 1e6
const handle = createDriver({ SimplePeer, wrtc, now }, emit)

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', line => {
  if (!line.trim()) return
  let msg
  try {
    msg = JSON.parse(line)
  } catch (err) {
    emit({ ev: 'fault', error: { code: '', message: 'bad JSON from Go: ' + err.message } })
    return
  }
  handle(msg)
})
// Go closes stdin when the suite ends: leave at once, whatever wrtc still holds.
rl.on('close', () => process.exit(0))
process.on('uncaughtException', err => {
  emit({ ev: 'fault', error: { code: err.code || '', message: 'uncaught: ' + (err.stack || err) } })
})
emit({ ev: 'ready', versions: { node: process.version, simplePeer: require('simple-peer/package.json').version, wrtc: require('@roamhq/wrtc/package.json').version } })
