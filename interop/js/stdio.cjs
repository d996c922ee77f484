// stdio.cjs: what the Node scripts driven by the Go tests share: JSON
// lines on stdout (emit) and stdin (readCommands), and the versions of the
// installed packages they report.
'use strict'

const path = require('path')
const readline = require('readline')

// emit writes one event for Go, a JSON object on a line of its own.
function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// version of an installed package (its package.json may not be exported).
function version (name) {
  return require(path.join(__dirname, '..', 'node_modules', name, 'package.json')).version
}

// readCommands calls onCommand with each JSON line Go writes to stdin, and
// onBadLine with the parse error of a line that is not JSON. Go closes
// stdin when its test ends: the process leaves at once then, whatever the
// WebRTC implementation still holds.
function readCommands (onCommand, onBadLine) {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  rl.on('line', line => {
    if (!line.trim()) return
    let msg
    try {
      msg = JSON.parse(line)
    } catch (err) {
      onBadLine(err)
      return
    }
    onCommand(msg)
  })
  rl.on('close', () => process.exit(0))
}

module.exports = { emit, version, readCommands }
