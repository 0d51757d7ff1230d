// WGSL for matmul: c = a·b in f32, row-major. Each 16×16 workgroup computes a 64×64 block of c, each invocation a
// 4×4 sub-block (rows ly + 16·i, columns lx + 16·j): per step of 16 along k the workgroup stages a 64×16 slice of a
// and a 16×64 slice of b in workgroup memory (8 KiB), then every invocation does 16·16 multiply-adds from registers.
// Against one output per invocation this needs 16× fewer barriers and 4× fewer workgroup-memory reads per
// multiply-add. Out-of-range elements load as 0, so any m, k, n work.

/** Rows and columns of c per workgroup. */
export const MATMUL_BLOCK = 64

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

const BLOCK: u32 = ${MATMUL_BLOCK}u;
const STEP: u32 = 16u;
var<workgroup> sliceA: array<array<f32, 16>, ${MATMUL_BLOCK}>;
var<workgroup> sliceB: array<array<f32, ${MATMUL_BLOCK}>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * BLOCK;
  let col0 = wid.x * BLOCK;
  let flat = lid.y * 16u + lid.x;
  // Row i of the 4×4 sub-block in acc[i], its four columns in the vector's lanes.
  var acc0 = vec4f();
  var acc1 = vec4f();
  var acc2 = vec4f();
  var acc3 = vec4f();
  let steps = (dims.k + STEP - 1u) / STEP;
  for (var s = 0u; s < steps; s++) {
    let k0 = s * STEP;
    // 1,024 elements of each slice, four per invocation.
    for (var e = 0u; e < 4u; e++) {
      let index = flat + e * 256u;
      let ar = index / STEP;
      let ak = index % STEP;
      var av = 0.0;
      if (row0 + ar < dims.m && k0 + ak < dims.k) {
        av = a[(row0 + ar) * dims.k + k0 + ak];
      }
      sliceA[ar][ak] = av;
      let bk = index / BLOCK;
      let bc = index % BLOCK;
      var bv = 0.0;
      if (k0 + bk < dims.k && col0 + bc < dims.n) {
        bv = b[(k0 + bk) * dims.n + col0 + bc];
      }
      sliceB[bk][bc] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < STEP; kk++) {
      let bv = vec4f(sliceB[kk][lid.x], sliceB[kk][lid.x + 16u], sliceB[kk][lid.x + 32u], sliceB[kk][lid.x + 48u]);
      acc0 += sliceA[lid.y][kk] * bv;
      acc1 += sliceA[lid.y + 16u][kk] * bv;
      acc2 += sliceA[lid.y + 32u][kk] * bv;
      acc3 += sliceA[lid.y + 48u][kk] * bv;
    }
    workgroupBarrier();
  }
  let rows = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + 16u * j;
      if (row < dims.m && col < dims.n) {
        c[row * dims.n + col] = rows[i][j];
      }
    }
  }
}
`
