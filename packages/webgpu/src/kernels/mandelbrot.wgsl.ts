// WGSL for mandelbrot: one invocation per pixel, 16×16 per workgroup. The pixel coordinates come in as two arrays
// computed on the host (the CPU kernel's validate), and the loop does the same f32 operations in the same order as
// the CPU kernel, so the two agree wherever the GPU rounds each operation (docs/KERNELS.md).

export const MANDELBROT_TILE = 16

export const MANDELBROT_WGSL = /* wgsl */ `
struct Tile {
  width: u32,
  height: u32,
  maxIterations: u32,
}

@group(0) @binding(0) var<uniform> tile: Tile;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
@group(0) @binding(3) var<storage, read_write> counts: array<u32>;

@compute @workgroup_size(${MANDELBROT_TILE}, ${MANDELBROT_TILE})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= tile.width || gid.y >= tile.height) {
    return;
  }
  let cx = xs[gid.x];
  let cy = ys[gid.y];
  var zx = 0.0;
  var zy = 0.0;
  var n = 0u;
  loop {
    if (n >= tile.maxIterations) {
      break;
    }
    let zx2 = zx * zx;
    let zy2 = zy * zy;
    if (zx2 + zy2 > 4.0) {
      break;
    }
    let twoZxZy = (zx + zx) * zy;
    zx = (zx2 - zy2) + cx;
    zy = twoZxZy + cy;
    n++;
  }
  counts[gid.y * tile.width + gid.x] = n;
}
`
