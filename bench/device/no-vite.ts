// Stands in for 'vite' in the GPU kit's bundle (bench/device/vite.config.ts).
// Only the browser section builds with Vite, and the kit carries neither Vite nor Chromium.
export function build(): never {
  throw new Error('the browser section needs Vite and Chromium, which the GPU kit does not carry: run it from a checkout with `npm run bench -- --only browser`');
}
