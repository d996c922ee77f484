// loopback.js: Node simple-peer <-> Node simple-peer, both peers in this
// one process (simple-peer@9.11.1 on @roamhq/wrtc, resolved from the
// interop module), for `go run ./bench`'s node-node rows. Usage:
//
//   node loopback.js INTEROP_DIR throughput MIB
//   node loopback.js INTEROP_DIR messages COUNT WINDOW ROUNDTRIPS
//
// throughput: MIB MiB of random bytes one way, the way a simple-peer user
// streams bulk data (peer.write of 16 KiB chunks, waiting for 'drain' when
// it returns false), received with peer.on('data') and checked in order.
// messages: COUNT 64-byte peer.send calls with at most WINDOW in flight
// (the receiver resumes the sender every WINDOW/4 messages), then
// ROUNDTRIPS ping-pongs of 64 bytes after 100 unmeasured ones.
// It prints one JSON line on stdout: {setupMS, mibps, cpuPerGiB} or
// {setupMS, rate, rtts}; errors go to stderr with a non-zero exit.
'use strict'
const path = require('path')
const crypto = require('crypto')
const { createRequire } = require('module')

const [interopDir, op, ...args] = process.argv.slice(2)
const req = createRequire(path.join(path.resolve(interopDir), 'package.json'))
const SimplePeer = req('simple-peer')
const wrtc = req('@roamhq/wrtc')

const now = () => Number(process.hrtime.bigint()) / 1e6 // ms

function fail (err) {
  process.stderr.write('loopback.js: ' + (err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
}
setTimeout(() => fail('timeout'), 120e3).unref()

function connect () {
  return new Promise((resolve, reject) => {
    const t0 = now()
    const a = new SimplePeer({ initiator: true, wrtc, config: { iceServers: [] } })
    const b = new SimplePeer({ wrtc, config: { iceServers: [] } })
    a.on('signal', s => b.signal(s))
    b.on('signal', s => a.signal(s))
    a.on('error', reject)
    b.on('error', reject)
    let up = 0
    const onConnect = () => { if (++up === 2) resolve({ a, b, setupMS: now() - t0 }) }
    a.on('connect', onConnect)
    b.on('connect', onConnect)
  })
}

function throughput ({ a, b }, mib) {
  return new Promise((resolve, reject) => {
    const payload = crypto.randomBytes(mib << 20)
    const chunk = 16 << 10
    let got = 0
    const cpu0 = process.cpuUsage()
    const t0 = now()
    b.on('data', d => {
      if (got + d.length > payload.length || payload.compare(d, 0, d.length, got, got + d.length) !== 0) {
        reject(new Error('data corrupted at byte ' + got))
        return
      }
      got += d.length
      if (got === payload.length) {
        const secs = (now() - t0) / 1000
        const cpu = process.cpuUsage(cpu0)
        resolve({ mibps: mib / secs, cpuPerGiB: (cpu.user + cpu.system) / 1e6 / (mib / 1024) })
      }
    })
    let off = 0
    const pump = () => {
      while (off < payload.length) {
        const ok = a.write(payload.subarray(off, off + chunk))
        off += chunk
        if (!ok) {
          a.once('drain', pump)
          return
        }
      }
    }
    pump()
  })
}

function rate ({ a, b }, count, window) {
  return new Promise(resolve => {
    const msg = Buffer.alloc(64)
    const step = Math.max(window >> 2, 1)
    let sent = 0
    let got = 0
    const t0 = now()
    const pump = () => {
      while (sent < count && sent - got < window) {
        a.send(msg)
        sent++
      }
    }
    b.on('data', () => {
      got++
      if (got === count) {
        b.removeAllListeners('data')
        resolve(count / ((now() - t0) / 1000))
      } else if (got % step === 0) {
        pump()
      }
    })
    pump()
  })
}

function pingPong ({ a, b }, n, warm) {
  return new Promise(resolve => {
    const msg = Buffer.alloc(64)
    const rtts = []
    let i = 0
    let t0 = 0
    b.on('data', d => b.send(d))
    a.on('data', () => {
      if (i >= warm) rtts.push(now() - t0)
      if (++i === warm + n) {
        resolve(rtts)
        return
      }
      t0 = now()
      a.send(msg)
    })
    t0 = now()
    a.send(msg)
  })
}

async function main () {
  const p = await connect()
  let out
  if (op === 'throughput') {
    out = await throughput(p, Number(args[0]))
  } else if (op === 'messages') {
    const [count, window, roundTrips] = args.map(Number)
    await rate(p, 1000, window) // warm-up
    const r = await rate(p, count, window)
    const rtts = await pingPong(p, roundTrips, 100)
    out = { rate: r, rtts }
  } else {
    throw new Error('unknown op ' + op)
  }
  out.setupMS = p.setupMS
  process.stdout.write(JSON.stringify(out) + '\n')
  p.a.destroy()
  p.b.destroy()
  setTimeout(() => process.exit(0), 100)
}

main().catch(fail)
