// Public surface of @atomizer/protocol. Only what is listed here may be imported by other packages.
// Add exports in the block of your module.

// object store (interface, local folder, S3, embedded S3 server, location parsing)
export {
  NotFoundError,
  isNotFoundError,
  validateObjectKey,
} from './object-store.js';
export type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
export { LocalStore } from './local-store.js';
export { S3Store } from './s3-store.js';
export type { S3ConnectionOptions, S3Credentials, S3StoreOptions } from './s3-store.js';
export { openStore, parseS3Location } from './open-store.js';
export type { S3Location } from './open-store.js';
export { startEmbeddedS3 } from './embedded-s3.js';
export type { EmbeddedS3, EmbeddedS3Options } from './embedded-s3.js';

// key layout
export {
  KEY_NUMBER_WIDTH,
  datasetKeys,
  formatKeyNumber,
  parseKeyNumber,
  runKeys,
  validateKeyName,
} from './keys.js';
export type { DatasetKeys, RunKeys } from './keys.js';

// hashing
export { Sha256, sha256Hex } from './sha256.js';
