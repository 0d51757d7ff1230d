// @thaunknown/simple-peer ships no types; its API is simple-peer's, whose types are @types/simple-peer.
declare module '@thaunknown/simple-peer/lite.js' {
  import SimplePeer from 'simple-peer'
  export default SimplePeer
}
