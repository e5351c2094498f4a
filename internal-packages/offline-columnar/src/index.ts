export { type AsofKey, type ColumnarRequest, ColumnarEngine, type Partition, tieFree } from './engine.js';
export { Duck, type DuckOptions, duckType } from './duck.js';
export { commitPath, ParquetCommitSink } from './sink.js';
