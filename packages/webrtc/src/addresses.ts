// The transport's multiaddrs. A node reachable through a signalling server has the address
//   <server>/p2p-webrtc-star/p2p/<peer id>
// where <server> is the signalling server's own address (`/dns/sig.example.com/tcp/443/https`,
// `/ip4/127.0.0.1/tcp/8080/http`, or `/memory/<name>` for an in-process hub). It listens on `<server>/p2p-webrtc-star`.
// `p2p-webrtc-star` (multicodec 0x0113) is the code registered for exactly this — WebRTC signalled through a star,
// the server before it — so every libp2p node parses and stores these addresses without registering anything.

import { CODE_P2P, CODE_P2P_WEBRTC_STAR, type Multiaddr, multiaddr } from '@multiformats/multiaddr'

export const SIGNALLED_PROTOCOL = 'p2p-webrtc-star'

export interface SignalledAddress {
  /** The signalling server's address: everything before `/p2p-webrtc-star`. */
  server: Multiaddr
  /** The peer id after `/p2p-webrtc-star/p2p/`, when there is one. */
  peerId?: string
}

/** Splits `<server>/p2p-webrtc-star[/p2p/<peer>]`; undefined for any other shape. */
export function parseSignalledAddress(ma: Multiaddr): SignalledAddress | undefined {
  const components = ma.getComponents()
  const at = components.findIndex((c) => c.code === CODE_P2P_WEBRTC_STAR)
  if (at <= 0) return undefined
  const rest = components.slice(at + 1)
  if (rest.length > 1 || (rest.length === 1 && (rest[0].code !== CODE_P2P || rest[0].value === undefined))) return undefined
  const server = multiaddr(components.slice(0, at))
  return rest.length === 0 ? { server } : { server, peerId: rest[0].value }
}

/** The listen address for a signalling server. */
export function signalledListenAddress(server: Multiaddr): Multiaddr {
  return server.encapsulate(`/${SIGNALLED_PROTOCOL}`)
}

/** `http://127.0.0.1:8080` → `/ip4/127.0.0.1/tcp/8080/http`; `https://sig.example.com/x` →
 *  `/dns/sig.example.com/tcp/443/https/http-path/x`. Throws on other schemes. */
export function signalingUrlToMultiaddr(url: string | URL): Multiaddr {
  const parsed = new URL(url)
  const scheme = parsed.protocol.replace(/:$/, '')
  if (scheme !== 'http' && scheme !== 'https') throw new TypeError(`signalling URL must be http(s): ${parsed.href}`)
  const port = parsed.port === '' ? (scheme === 'https' ? '443' : '80') : parsed.port
  const host = parsed.hostname
  const hostPart = /^\d{1,3}(\.\d{1,3}){3}$/.test(host)
    ? `/ip4/${host}`
    : host.startsWith('[')
      ? `/ip6/${host.slice(1, -1)}`
      : `/dns/${host}`
  const path = parsed.pathname.replace(/^\/+|\/+$/g, '')
  return multiaddr(`${hostPart}/tcp/${port}/${scheme}${path === '' ? '' : `/http-path/${encodeURIComponent(path)}`}`)
}

/** The inverse of `signalingUrlToMultiaddr`: the URL a client connects to for a server address. */
export function multiaddrToSignalingUrl(server: Multiaddr): string {
  let host: string | undefined
  let port: string | undefined
  let scheme: string | undefined
  let path = ''
  for (const c of server.getComponents()) {
    if (c.name === 'ip4' || c.name === 'dns' || c.name === 'dns4' || c.name === 'dns6') host = c.value
    else if (c.name === 'ip6') host = `[${c.value}]`
    else if (c.name === 'tcp') port = c.value
    else if (c.name === 'http' || c.name === 'https') scheme = c.name
    else if (c.name === 'tls' && scheme === undefined) scheme = 'https'
    else if (c.name === 'http-path') path = c.value ?? ''
  }
  if (host === undefined || port === undefined || scheme === undefined) {
    throw new TypeError(`not a signalling server address (want /ip4|ip6|dns/…/tcp/…/http(s)): ${server.toString()}`)
  }
  const defaultPort = scheme === 'https' ? '443' : '80'
  return `${scheme}://${host}${port === defaultPort ? '' : `:${port}`}${path === '' ? '' : path.startsWith('/') ? path : `/${path}`}`
}
