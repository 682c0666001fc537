// Workers Analytics Engine (`[[analytics_engine_datasets]]`): `writeDataPoint` is synchronous and
// returns nothing, as in production; locally the points are checked against the documented
// limits (analytics/analytics-engine/limits: 20 blobs, 20 doubles, one index of at most 96 bytes,
// blobs at most 16 KB in total) and kept in memory, since nothing can query them offline.
const MAX_BLOBS = 20;
const MAX_DOUBLES = 20;
const MAX_INDEX_BYTES = 96;
const MAX_BLOB_BYTES = 16 * 1024;
const KEPT = 1000;

const byteLength = (value) => (typeof value === "string" ? Buffer.byteLength(value) : (value?.byteLength ?? 0));

export class AnalyticsEngineDataset {
  constructor({ dataset }) {
    Object.defineProperty(this, "dataset", { value: dataset, enumerable: false });
    Object.defineProperty(this, "points", { value: [], enumerable: false });
  }

  writeDataPoint(point = {}) {
    const { blobs = [], doubles = [], indexes = [] } = point ?? {};
    if (blobs.length > MAX_BLOBS) throw new RangeError(`writeDataPoint(): at most ${MAX_BLOBS} blobs`);
    if (doubles.length > MAX_DOUBLES) throw new RangeError(`writeDataPoint(): at most ${MAX_DOUBLES} doubles`);
    if (doubles.some((d) => typeof d !== "number")) throw new TypeError("writeDataPoint(): doubles must be numbers");
    if (indexes.length > 1) throw new RangeError("writeDataPoint(): at most one index");
    if (indexes.some((index) => byteLength(index) > MAX_INDEX_BYTES)) {
      throw new RangeError(`writeDataPoint(): an index is at most ${MAX_INDEX_BYTES} bytes`);
    }
    if (blobs.reduce((sum, blob) => sum + byteLength(blob), 0) > MAX_BLOB_BYTES) {
      throw new RangeError(`writeDataPoint(): blobs are at most ${MAX_BLOB_BYTES} bytes in total`);
    }
    this.points.push({ blobs: [...blobs], doubles: [...doubles], indexes: [...indexes], at: Date.now() });
    if (this.points.length > KEPT) this.points.shift();
  }
}
