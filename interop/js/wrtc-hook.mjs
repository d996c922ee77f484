// wrtc-hook.mjs: a module resolve hook (node:module register) for
// node-peer.js. @thaunknown/simple-peer imports its WebRTC classes from
// 'webrtc-polyfill' and has no opts.wrtc; this sends that one import to
// webrtc-shim.mjs, which re-exports the implementation under test.
let shim = ''
let wrtc = ''

export function initialize (data) {
  shim = data.shim
  wrtc = data.wrtc
}

export async function resolve (specifier, context, next) {
  if (specifier === 'webrtc-polyfill') {
    return { url: shim + '?wrtc=' + encodeURIComponent(wrtc), shortCircuit: true }
  }
  return next(specifier, context)
}
