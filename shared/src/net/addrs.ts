import { multiaddr } from '@multiformats/multiaddr'

/** The peer id in a multiaddr's last /p2p/ component, or undefined when it has none or does not parse. */
export function peerIdOfAddr(addr: string): string | undefined {
  try {
    return multiaddr(addr)
      .getComponents()
      .findLast((component) => component.name === 'p2p')?.value
  } catch {
    return undefined
  }
}
