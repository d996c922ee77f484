// thaunknown-entry.js: the entry esbuild bundles for the browser hosts
// (pagehost_test.go): @thaunknown/simple-peer, an ES module with npm
// dependencies a page cannot import by name, as a global SimplePeer like
// simple-peer 9.11.1's own browser bundle.
import Peer from '@thaunknown/simple-peer'
globalThis.SimplePeer = Peer
