export { type ColumnarRequest, ColumnarEngine, type Partition } from './engine.js';
export { Duck, type DuckOptions, duckType } from './duck.js';
export { commitPath, ParquetCommitSink } from './sink.js';
