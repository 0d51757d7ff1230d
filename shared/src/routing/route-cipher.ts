// End-to-end encryption of routed bodies, so relays see only ciphertext. Each node has an X25519 route key derived
// from its libp2p identity key (HKDF-SHA256; the same identity gives the same key across restarts) and advertises
// its public half in its link-state record, which gossipsub signs. The source makes a fresh X25519 key per request,
// agrees a secret with the destination's route key, and derives an AES-256-GCM key from it with the request's nonce
// (HKDF-SHA256): the request body and the reply body are sealed with it under two fixed IVs (the key is never
// reused: a fresh ephemeral key and nonce each time). All WebCrypto, in browsers and Node alike.

import type { PrivateKey } from '@libp2p/interface'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { encode } from 'cborg'
import { NoodleError } from '../errors.js'

/** A PKCS#8 wrapper for a raw X25519 private key (RFC 8410): WebCrypto imports no raw private keys. */
const PKCS8_X25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
])
const REQUEST_IV = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
const REPLY_IV = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])

/** Who and what a sealed body belongs to: bound into its key, so it opens for nothing else. */
export interface SealContext {
  src: string
  dst: string
  nonce: Uint8Array
}

/** The key both ends derive for one request: it seals the request body and the reply body. */
export class SealedExchange {
  private readonly key: CryptoKey

  constructor(key: CryptoKey) {
    this.key = key
  }

  sealReply(plaintext: Uint8Array): Promise<Uint8Array> {
    return seal(this.key, REPLY_IV, plaintext)
  }

  openReply(ciphertext: Uint8Array): Promise<Uint8Array> {
    return open(this.key, REPLY_IV, ciphertext, 'the answer routed back')
  }
}

export class RouteCipher {
  /** The raw X25519 public key this node advertises. */
  readonly publicKey: Uint8Array
  private readonly privateKey: CryptoKey

  private constructor(publicKey: Uint8Array, privateKey: CryptoKey) {
    this.publicKey = publicKey
    this.privateKey = privateKey
  }

  /** This node's route key, from its identity; undefined where WebCrypto has no X25519. */
  static async fromIdentity(identity: PrivateKey): Promise<RouteCipher | undefined> {
    try {
      const seed = hkdf(sha256, identity.raw, undefined, new TextEncoder().encode('noodlenet/route/1 x25519'), 32)
      const pkcs8 = new Uint8Array(PKCS8_X25519_PREFIX.length + 32)
      pkcs8.set(PKCS8_X25519_PREFIX)
      pkcs8.set(seed, PKCS8_X25519_PREFIX.length)
      const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'X25519' }, true, ['deriveBits'])
      const jwk = await crypto.subtle.exportKey('jwk', privateKey)
      return new RouteCipher(fromBase64Url(jwk.x as string), privateKey)
    } catch {
      return undefined
    }
  }

  /** The source's side: seals `plaintext` for the destination's route key; returns the ephemeral public key to send
   *  along, the ciphertext, and the exchange that opens the reply. */
  static async seal(
    destinationKey: Uint8Array,
    context: SealContext,
    plaintext: Uint8Array,
  ): Promise<{ epk: Uint8Array; body: Uint8Array; exchange: SealedExchange }> {
    const ephemeral = (await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair
    const epk = new Uint8Array(await crypto.subtle.exportKey('raw', ephemeral.publicKey))
    const key = await agree(ephemeral.privateKey, destinationKey, epk, destinationKey, context)
    return { epk, body: await seal(key, REQUEST_IV, plaintext), exchange: new SealedExchange(key) }
  }

  /** The destination's side: opens a body sealed for this node's route key (ROUTE_FORGED when it does not open). */
  async open(epk: Uint8Array, context: SealContext, ciphertext: Uint8Array): Promise<{ body: Uint8Array; exchange: SealedExchange }> {
    let key: CryptoKey
    try {
      key = await agree(this.privateKey, epk, epk, this.publicKey, context)
    } catch (err) {
      throw new NoodleError('ROUTE_FORGED', 'the routed request carries an invalid key', 'The sender must speak this protocol version.', {
        cause: err,
      })
    }
    return { body: await open(key, REQUEST_IV, ciphertext, 'the routed request'), exchange: new SealedExchange(key) }
  }
}

/** X25519 with `peerPublic`, then HKDF-SHA256 to an AES-256-GCM key bound to both public keys and the context. */
async function agree(
  ownPrivate: CryptoKey,
  peerPublic: Uint8Array,
  epk: Uint8Array,
  destinationKey: Uint8Array,
  context: SealContext,
): Promise<CryptoKey> {
  const publicKey = await crypto.subtle.importKey('raw', owned(peerPublic), { name: 'X25519' }, false, [])
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: publicKey }, ownPrivate, 256))
  const info = encode(['noodlenet/route/1 body', context.src, context.dst, epk, destinationKey])
  const raw = hkdf(sha256, shared, context.nonce, info, 32)
  return crypto.subtle.importKey('raw', owned(raw), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt'])
}

async function seal(key: CryptoKey, iv: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: owned(iv) }, key, owned(plaintext)))
}

async function open(key: CryptoKey, iv: Uint8Array, ciphertext: Uint8Array, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: owned(iv) }, key, owned(ciphertext)))
  } catch (err) {
    throw new NoodleError(
      'ROUTE_FORGED',
      `${what} does not decrypt: a relay altered it, or it was sealed for another key`,
      'Send it again; if it keeps failing, a peer on the path is tampering: deny it (network.denyPeers).',
      { cause: err },
    )
  }
}

function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/')
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
  return Uint8Array.from(binary, (char) => char.charCodeAt(0))
}

/** The bytes in an ArrayBuffer of their own, as WebCrypto's types ask (a view may sit on a shared buffer). */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes)
}
