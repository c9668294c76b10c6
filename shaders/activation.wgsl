// Elementwise activations and their gradients, one pipeline per kind (KIND).
//   activation_forward:  y  = f(x)
//   activation_backward: dx = f'(x) · dy
//   activation_backward_from_output: dx = f'(x) · dy from y = f(x), for the
//                        kinds whose derivative is a function of y
// activate, activateGrad and activateGradOfOutput, and the KIND numbers they
// switch on, are generated from the activation records (src/ops/activations.ts:
// activationWgsl) and prepended to this file when it is loaded; this file
// holds no per-kind code.

override KIND: u32 = 0u;
alias V = f32;

const WG = 256u;

struct Params {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;

@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> fp: Params;

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn activation_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < fp.n) { y[i] = activate(x[i], fp.alpha, KIND); }
}

@compute @workgroup_size(WG)
fn activation_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < bp.n) { dx[i] = activateGrad(x[i], bp.alpha, KIND) * dy[i]; }
}

// x here is the forward's output y.
@compute @workgroup_size(WG)
fn activation_backward_from_output(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < bp.n) { dx[i] = activateGradOfOutput(x[i], bp.alpha, KIND) * dy[i]; }
}
