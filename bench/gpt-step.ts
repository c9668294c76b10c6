// W7's training step taken apart (#27: "the GPU, not the host, sets the
// pace"): what one step launches, by kernel, and where its time goes on
// the host against the device. Built with the bench and run on its own:
//   npx vite build --config bench/vite.config.ts && node node_modules/.cache/webgrad-bench/gpt-step.js [--steps N]
// A compiled step is recorded once (pipelines, bind groups and uniforms made
// at compile time, src/backend/webgpu/program.ts) and replayed: what a step
// costs the host is writing its batch and step number, recording its
// dispatches into the open pass, and the submit. Each step here is timed in
// three parts: record (the batch, the step's data and program.run(), no GPU
// work), submit (sync()'s synchronous part: the encoder finished and
// submitted) and wait (until the device has finished). On llvmpipe every part
// is CPU time of this machine: the device is software, so its figures are
// CPU figures, never a GPU's.
import { createWebGPUBackend } from '../src/index.js';
import { fill } from '../src/ops/elementwise.js';
import type { Model, WebGPUBackend } from '../src/index.js';
import type { Runtime } from '../src/nn/runtime.js';
import { corpusWindows, gptInitialWeights, gptModel, W7, withVocabulary } from './gpt-workload.js';
import { benchCorpus } from './lib/corpus.js';
import { INIT_SEED, LEARNING_RATE } from './workloads.js';

interface Part {
  record: number;
  submit: number;
  wait: number;
}

/** Host calls one step makes, counted by wrapping the device's methods. */
interface Calls {
  dispatches: Map<string, number>;
  writeBuffer: number;
  createBindGroup: number;
  submit: number;
}

const total = (c: Calls) => [...c.dispatches.values()].reduce((a, b) => a + b, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const at = process.argv.indexOf('--steps');
  const steps = at > 0 ? Number(process.argv[at + 1]) : 8;
  const windows = corpusWindows(benchCorpus(), 64);
  const w = withVocabulary(W7(false), windows.vocabulary);
  const be = await createWebGPUBackend();
  const m = gptModel(w);
  m.compile({ optimizer: { type: 'adam', learningRate: LEARNING_RATE, epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend: be });
  m.setWeights(gptInitialWeights(w, INIT_SEED).map((p) => p.data));
  const batch = w.batch;
  const { x, y } = windows.data;
  // The first fit() builds and compiles the step (pipelines), which is not a step's cost.
  const c0 = performance.now();
  await m.fit({ data: x.subarray(0, batch * 64), shape: [batch, 64] }, { data: y.subarray(0, batch * 64), shape: [batch, 64] }, { batchSize: batch, shuffle: false, verbose: 0 });
  const compileSeconds = (performance.now() - c0) / 1000;
  const rt = runtimeOf(m);
  const step = await rt.trainStep(batch);
  const feed = (i: number) => {
    const from = ((i * batch) % (windows.data.n - batch)) * 64;
    be.write(step.x[0], x.subarray(from, from + batch * 64));
    be.write(step.y[0], y.subarray(from, from + batch * 64));
    rt.nextStep();
    step.compiled.program.run();
  };

  const calls = await countCalls(be, async () => {
    feed(0);
    await be.sync();
  });

  const parts: Part[] = [];
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    const t0 = performance.now();
    feed(i);
    const t1 = performance.now();
    const done = be.sync();
    const t2 = performance.now();
    await done;
    parts.push({ record: t1 - t0, submit: t2 - t1, wait: performance.now() - t2 });
  }
  const wall = (performance.now() - wall0) / steps;
  const cpu = process.cpuUsage(cpu0);

  // As fit() runs: every step queued into one command buffer, one wait at the end.
  const q0 = performance.now();
  for (let i = 0; i < steps; i++) feed(i);
  const queuedRecord = (performance.now() - q0) / steps;
  await be.sync();
  const queued = (performance.now() - q0) / steps;

  // The same number of launches doing (almost) nothing: what launches cost by themselves on this adapter.
  const one = be.allocate([1]);
  const empty = await be.compile(Array.from({ length: total(calls) }, () => ({ kernel: fill, inputs: [], outputs: [one], attrs: { shape: [1], value: 0 } })));
  const floor: number[] = [];
  const floorRecord: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    empty.run();
    floorRecord.push(performance.now() - t0);
    await be.sync();
    floor.push(performance.now() - t0);
  }
  empty.dispose();

  const d = be.describe();
  const lines = [
    `W7 training step (GPT ${w.gpt!.width}/${w.gpt!.blocks}/${w.gpt!.heads}, context 64, batch ${batch}, vocabulary ${windows.vocabulary}, Adam)`,
    `adapter: ${[d.vendor, d.architecture, d.device, d.description].filter(Boolean).join(' ')} (${d.api || 'unknown API'}, ${d.featureLevel}${d.software ? ', software: CPU figures' : ''})`,
    `compile (first fit of one step): ${compileSeconds.toFixed(1)} s`,
    `launches a step: ${total(calls)}; host calls a step: ${calls.writeBuffer} writeBuffer, ${calls.createBindGroup} createBindGroup, ${calls.submit} submit`,
    ...[...calls.dispatches.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${String(v).padStart(4)}  ${k}`),
    `one step at a time, median of ${steps} (ms): record ${median(parts.map((p) => p.record)).toFixed(2)}, submit ${median(parts.map((p) => p.submit)).toFixed(2)}, wait ${median(parts.map((p) => p.wait)).toFixed(1)}; whole step ${wall.toFixed(1)} ms wall, ${((cpu.user + cpu.system) / 1000 / steps).toFixed(0)} CPU-ms (all threads)`,
    `${steps} steps queued as fit() queues them: record ${queuedRecord.toFixed(2)} ms a step, ${queued.toFixed(1)} ms a step in all`,
    `${total(calls)} one-element fill launches, recorded, submitted and waited for: ${median(floor).toFixed(2)} ms, of which recorded ${median(floorRecord).toFixed(2)} ms (median of ${steps}): what the launches alone cost`,
  ];
  console.log(lines.join('\n'));
  m.dispose();
  be.dispose();
}

/** The model's runtime: this lab reaches past the public API to replay one compiled step by itself. */
function runtimeOf(m: Model): Runtime {
  const rt = (m as unknown as { runtime: Runtime | null }).runtime;
  if (!rt) throw new Error('gpt-step: the model has no runtime after fit(); Model keeps it in a field named runtime');
  return rt;
}

/** Runs `body` with the backend's dispatches counted by kernel and the device's writeBuffer, createBindGroup and submit calls counted. */
async function countCalls(be: WebGPUBackend, body: () => Promise<void>): Promise<Calls> {
  const calls: Calls = { dispatches: new Map(), writeBuffer: 0, createBindGroup: 0, submit: 0 };
  const { device } = be;
  const queue = device.queue;
  const saved = { record: be.record, writeBuffer: queue.writeBuffer, createBindGroup: device.createBindGroup, submit: queue.submit };
  be.record = function (name, ...rest) {
    calls.dispatches.set(name, (calls.dispatches.get(name) ?? 0) + 1);
    return saved.record.call(this, name, ...rest);
  };
  queue.writeBuffer = function (...args: Parameters<GPUQueue['writeBuffer']>) {
    calls.writeBuffer++;
    return saved.writeBuffer.apply(queue, args);
  };
  device.createBindGroup = function (desc) {
    calls.createBindGroup++;
    return saved.createBindGroup.call(device, desc);
  };
  queue.submit = function (buffers) {
    calls.submit++;
    return saved.submit.call(queue, buffers);
  };
  try {
    await body();
  } finally {
    Object.assign(be, { record: saved.record });
    Object.assign(queue, { writeBuffer: saved.writeBuffer, submit: saved.submit });
    Object.assign(device, { createBindGroup: saved.createBindGroup });
  }
  return calls;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
