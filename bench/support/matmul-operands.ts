// The matrices bench/matmul.ts multiplies, made the same way in Node and in the benchmark page: deterministic
// values in [-1, 1), so every backend gets the same input without shipping 2 × n² numbers to the page.

export function matmulOperands(n: number): { a: number[][]; b: number[][] } {
  let state = 0x9e3779b9
  const next = (): number => {
    // xorshift32: cheap and the same everywhere.
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 31 - 1
  }
  const square = (): number[][] => Array.from({ length: n }, () => Array.from({ length: n }, next))
  return { a: square(), b: square() }
}

/** Largest |x − y| over all elements, relative to the largest |y|: how far a backend's product is from the CPU's. */
export function relativeError(x: number[][], y: number[][]): number {
  let error = 0
  let scale = 0
  y.forEach((row, i) => {
    row.forEach((value, j) => {
      error = Math.max(error, Math.abs(x[i][j] - value))
      scale = Math.max(scale, Math.abs(value))
    })
  })
  return scale === 0 ? error : error / scale
}
