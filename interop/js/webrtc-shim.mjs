// webrtc-shim.mjs: stands in for 'webrtc-polyfill' under
// @thaunknown/simple-peer (see wrtc-hook.mjs): the WebRTC classes of the
// package named in this module's ?wrtc= query (@roamhq/wrtc or
// node-datachannel/polyfill).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const wrtc = require(new URL(import.meta.url).searchParams.get('wrtc'))

export const RTCPeerConnection = wrtc.RTCPeerConnection
export const RTCSessionDescription = wrtc.RTCSessionDescription
export const RTCIceCandidate = wrtc.RTCIceCandidate
export default wrtc
