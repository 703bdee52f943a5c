import { Readable } from 'node:stream';
import { FLAT_CHUNK_BYTES, SCRATCH, encodeFlatChunks, type ObjectStore, type TransportFormat } from '@atomizer/protocol';
import { encodeTransport, transportMeta } from '@atomizer/worker';

/**
 * Write a round's weights to `key` as a flat object in the run's transport format, streamed
 * from the array when large (no encoded copy of a 241 MB model at f32). Resolves with the payload hash
 * jobs carry and the bytes written. `after`: the write starts once it resolves (and not at all
 * if it rejects), the encoding and hashing before it (the round loop's lease fence).
 */
export async function publishWeights(
  store: ObjectStore,
  key: string,
  run: string,
  round: number,
  modelSha256: string,
  weights: Float32Array,
  transport: TransportFormat,
  after?: Promise<unknown>,
): Promise<{ payloadSha256: string; byteLength: number }> {
  const flat = encodeFlatChunks(
    { kind: 'weights', run, round, params: weights.length, modelConfigSha256: modelSha256, ...transportMeta(transport) },
    { weights: encodeTransport(weights, transport) },
  );
  await after;
  // Small weights (the demo's 0.5 MB) in one piece: one write, one plain PUT on S3 (a stream
  // goes through a multipart-capable upload). Large ones streamed, with no second copy; a
  // factory, not a stream: a put cut by a store outage is repeated from the first chunk.
  // Scratch: a resumed run publishes a round's weights again from its checkpoint.
  if (flat.byteLength <= FLAT_CHUNK_BYTES) await store.put(key, Buffer.concat(flat.chunks, flat.byteLength), SCRATCH);
  else await store.put(key, () => Readable.from(flat.chunks), SCRATCH);
  return { payloadSha256: flat.payloadSha256, byteLength: flat.byteLength };
}
