// Bytes in the admin API's JSON: `{"$bytes": "<base64>"}` stands for a Uint8Array (typed arrays leave as the same
// form), so binary task inputs and outputs — a custom WebAssembly kernel's, a Float32Array — cross HTTP intact.

/** Deepest nesting converted; deeper values are left as they are (parseTask refuses them anyway). */
const MAX_DEPTH = 64

/** Replaces every `{"$bytes": base64}` in a parsed JSON value with its Uint8Array. */
export function fromJsonBytes(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map((item) => fromJsonBytes(item, depth + 1))
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 1 && keys[0] === '$bytes' && typeof record.$bytes === 'string') {
    return new Uint8Array(Buffer.from(record.$bytes, 'base64'))
  }
  const out: Record<string, unknown> = {}
  for (const key of keys) out[key] = fromJsonBytes(record[key], depth + 1)
  return out
}

/** The inverse for answers: typed arrays become `{"$bytes": base64}`. */
export function toJsonBytes(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return value
  if (ArrayBuffer.isView(value)) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) return value.map((item) => toJsonBytes(item, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) out[key] = toJsonBytes(item, depth + 1)
  return out
}
