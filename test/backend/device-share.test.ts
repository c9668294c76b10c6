import { describe, expect, it } from 'vitest';
import { WebGPUBackend } from '../../src/backend/webgpu/backend.js';
import { DEVICE_LINGER_MS, liveDevices } from '../../src/backend/webgpu/device.js';
import { Random } from '../../src/core/random.js';
import { dense } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { backends } from '../helpers/backends.js';

const gpu = backends.some(([n]) => n === 'webgpu');

async function until(what: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

const mb = () => process.memoryUsage().rss / 2 ** 20;

describe.runIf(gpu)('one WebGPU device per process', () => {
  it('backends share the device; each frees its own buffers; the last one closes it', async () => {
    const a = await WebGPUBackend.create();
    const b = await WebGPUBackend.create();
    expect(b.device).toBe(a.device);
    expect(liveDevices()).toBe(1);
    const t = b.allocate([4]);
    b.write(t, [1, 2, 3, 4]);
    a.allocate([1 << 20]);
    a.dispose();
    expect(a.bufferCount).toBe(0);
    expect([...(await b.read(t))]).toEqual([1, 2, 3, 4]); // the device outlives a
    b.dispose();
    const c = await WebGPUBackend.create(); // taken again before it closed: the same device
    expect(c.device).toBe(a.device);
    c.dispose();
    await until(() => liveDevices() === 0, DEVICE_LINGER_MS + 2000);
    expect(liveDevices()).toBe(0);
  });

  it('a device lost while in use is reported by every backend on it, and not handed out again', async () => {
    const a = await WebGPUBackend.create();
    const b = await WebGPUBackend.create();
    a.device.destroy(); // not through dispose(): a loss
    await until(() => liveDevices() === 0, 2000);
    await expect(a.sync()).rejects.toThrow(/WebGPU device lost/);
    await expect(b.sync()).rejects.toThrow(/WebGPU device lost/);
    const c = await WebGPUBackend.create();
    expect(c.device).not.toBe(a.device);
    await c.sync();
    for (const be of [a, b, c]) be.dispose();
    await until(() => liveDevices() === 0, DEVICE_LINGER_MS + 2000);
    expect(liveDevices()).toBe(0);
  });

  /**
   * Before, every model opened its own Dawn device, whose memory came back only
   * at garbage collection: RSS grew by about 4.2 MB a model (measured: +420 MB
   * over 100 models). RSS also grows in one-off steps (V8's heap and JIT, the
   * allocator, Mesa: about +30 MB over the first 200 models, then a single step
   * of about +20 MB anywhere between models 200 and 400 on this machine). A leak
   * grows every window; a step shows in one. So of the three windows of 100
   * models after the first 200, the smallest growth must stay under 15 MB
   * (0.15 MB a model, a 28th of the old leak; measured: +4 to +7 MB), and the
   * whole 300 under 60 MB (measured: +33 to +37 MB).
   */
  it('building, training, running and disposing 500 models keeps memory flat and leaves no device open', async () => {
    const r = new Random(1);
    const x = { data: r.fill(new Float32Array(64 * 8), -1, 1), shape: [64, 8] };
    const y = { data: Int32Array.from({ length: 64 }, () => r.int(4)), shape: [64] };
    const rss: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 500; i++) {
      const model = sequential([dense(16, { activation: 'relu', inputShape: [8] }), dense(4, { activation: 'softmax' })], { seed: i }).compile({
        optimizer: 'adam',
        loss: 'sparseCategoricalCrossentropy',
        backend: 'webgpu',
      });
      await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
      await model.predict(x, { batchSize: 32 });
      model.dispose();
      expect(liveDevices()).toBe(1);
      rss.push(mb());
    }
    const windows = [200, 300, 400].map((from) => rss[from + 99] - rss[from - 1]);
    const at = [1, 100, 200, 300, 400, 500];
    console.log(`500 models in ${((Date.now() - t0) / 1000).toFixed(1)} s; RSS after ${at.join(', ')} models: ${at.map((k) => rss[k - 1].toFixed(0)).join(', ')} MB`);
    expect(Math.min(...windows)).toBeLessThan(15);
    expect(rss[499] - rss[199]).toBeLessThan(60);
    await until(() => liveDevices() === 0, DEVICE_LINGER_MS + 2000);
    expect(liveDevices()).toBe(0);
  });
});
