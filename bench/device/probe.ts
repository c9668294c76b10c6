// Which WebGPU adapter webgrad gets here, found as the bench finds it (Dawn's
// native backend first, then OpenGL ES). bench/device/run.sh runs it before
// the bench to decide whether the driver needs pointing at. Exit status: 0 on
// a native (Vulkan) hardware adapter, 3 on any other adapter (OpenGL ES, or a
// software one: a CPU in disguise), 4 on none.
import { createWebGPUBackend } from '../../src/index.js';
import type { WebGPUBackend } from '../../src/index.js';
import { describeAdapter } from '../systems/open-browser.js';

async function probe(): Promise<number> {
  let be: WebGPUBackend;
  try {
    be = await createWebGPUBackend();
  } catch (e) {
    console.log(`probe: no WebGPU adapter: ${(e as Error).message}`);
    return 4;
  }
  const d = be.describe();
  const l = d.limits;
  console.log(`probe: ${describeAdapter(d)}; ${d.description}`);
  console.log(`probe: features [${d.features.join(', ')}]; ${l.maxComputeInvocationsPerWorkgroup} invocations and ${l.maxComputeWorkgroupStorageSize} B of workgroup memory per workgroup`);
  be.dispose();
  return d.api === 'vulkan' && !d.software ? 0 : 3;
}

probe().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`probe failed: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  },
);
