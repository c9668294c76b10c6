/** WEBGRAD_DEBUG=1 prints every shader as compiled and every dispatch as queued. */
const enabled =
  (typeof process !== 'undefined' && !!process.env?.WEBGRAD_DEBUG) ||
  (typeof globalThis !== 'undefined' && !!(globalThis as { WEBGRAD_DEBUG?: boolean }).WEBGRAD_DEBUG);

export function debug(message: () => string): void {
  if (enabled) console.error(`[webgrad] ${message()}`);
}
