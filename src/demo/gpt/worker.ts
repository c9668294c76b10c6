// The GPT page's CPU backend: the engine in a dedicated worker, answering the
// page's calls one at a time, so training in plain TypeScript never blocks the page.
import { serveInWorker } from '../train/rpc.js';
import { ENGINE_METHODS, GptEngine } from './engine.js';

serveInWorker(new GptEngine(), ENGINE_METHODS);
