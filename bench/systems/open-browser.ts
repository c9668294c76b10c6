// Browser-safe naming of the device a figure came from.
import type { DeviceDescription } from '../../src/index.js';

export function describeAdapter(d: DeviceDescription): string {
  if (d.backend === 'cpu') return d.description;
  const name = [d.vendor, d.architecture, d.device].filter(Boolean).join(' ') || 'unknown device';
  return `${name} (${d.api || 'unknown api'}, ${d.featureLevel}${d.software ? ', software adapter: CPU-emulated' : ''})`;
}
