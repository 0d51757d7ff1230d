// WGSL for matmul: c = a·b in f32, row-major, tiled. Each 16×16 workgroup computes a 16×16 tile of c, staging one
// 16×16 tile of a and of b at a time in workgroup memory (2 KiB), so each element of a and b is read from storage
// k/16 times instead of k times. Out-of-range tile elements load as 0, so any m, k, n work.

export const MATMUL_TILE = 16

export const MATMUL_WGSL = /* wgsl */ `
struct Dims {
  m: u32,
  k: u32,
  n: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const TILE: u32 = ${MATMUL_TILE}u;
var<workgroup> tileA: array<array<f32, ${MATMUL_TILE}>, ${MATMUL_TILE}>;
var<workgroup> tileB: array<array<f32, ${MATMUL_TILE}>, ${MATMUL_TILE}>;

@compute @workgroup_size(${MATMUL_TILE}, ${MATMUL_TILE})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = gid.y;
  let col = gid.x;
  var sum = 0.0;
  let tiles = (dims.k + TILE - 1u) / TILE;
  for (var t = 0u; t < tiles; t++) {
    let aCol = t * TILE + lid.x;
    var av = 0.0;
    if (row < dims.m && aCol < dims.k) {
      av = a[row * dims.k + aCol];
    }
    tileA[lid.y][lid.x] = av;
    let bRow = t * TILE + lid.y;
    var bv = 0.0;
    if (bRow < dims.k && col < dims.n) {
      bv = b[bRow * dims.n + col];
    }
    tileB[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var i = 0u; i < TILE; i++) {
      sum += tileA[lid.y][i] * tileB[i][lid.x];
    }
    workgroupBarrier();
  }
  if (row < dims.m && col < dims.n) {
    c[row * dims.n + col] = sum;
  }
}
`
