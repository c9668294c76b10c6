// The CPU backend's home when the browser has no WebGPU: the engine in a
// dedicated worker, answering the page's calls (rpc.ts) one at a time.
import { serveInWorker } from '../train/rpc.js';
import { Engine } from './engine.js';
import { METHODS } from './rpc.js';

serveInWorker(new Engine(), METHODS);
