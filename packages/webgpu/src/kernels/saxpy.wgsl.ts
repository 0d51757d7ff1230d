// WGSL for saxpy: y ← a·x + y in f32, one element per invocation, in place (the result overwrites y's buffer).

export const SAXPY_WORKGROUP = 256

export const SAXPY_WGSL = /* wgsl */ `
struct Params {
  a: f32,
  n: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(${SAXPY_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i < params.n) {
    y[i] = params.a * x[i] + y[i];
  }
}
`
