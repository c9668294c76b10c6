// PCG-RXS-M-XS on u32 (Jarzynski and Olano, "Hash Functions for GPU
// Rendering", JCGT 2020): the counter-based randomness of dropout's masks and
// RandomTranslation's moves. src/ops/dropout.ts computes the same on the CPU.
// Prepended to the shaders that use it (dropout.wgsl, augment.wgsl).

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// The seed of one step's draws (dropout, translate): the op's seed mixed with the step number.
fn stepSeed(seed: u32, step: i32) -> u32 {
  return pcg(pcg(seed) ^ bitcast<u32>(step));
}
