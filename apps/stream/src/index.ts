export { type Decoded, type MessageDecoder, messageDecoder, type RejectCode } from './decode.js';
export { createStreamMetrics, type StreamMetrics, serveMetrics } from './metrics.js';
export { StreamProcessor, type StreamProcessorOptions } from './processor.js';
export { type RunningStreams, runStreams } from './run.js';
