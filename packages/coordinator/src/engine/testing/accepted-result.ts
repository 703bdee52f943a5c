import { encodeFlat, type FlatArray, type ObjectStore } from '@atomizer/protocol';
import { readHeaderOf, type AcceptedTrainResult } from '../results.js';

// Tests of the aggregation (ordered-fold, worker-reduce): a slice result written to the
// store and accepted on its header, as the executor's check does.

/** Write `update` as job `job`'s result at `key` and accept it on its header. */
export async function putAccepted(
  store: ObjectStore,
  key: string,
  job: number,
  update: FlatArray,
  meta: { samples: number; loss: number },
  fmt: 'f32' | 'bf16' = 'f32',
  P = update.length,
): Promise<AcceptedTrainResult> {
  const full = { kind: 'train-result', job, ...meta, ...(fmt === 'f32' ? {} : { transport: fmt }) };
  await store.put(key, encodeFlat(full, { update }));
  const { header } = await readHeaderOf(store, key);
  return {
    job,
    reply: { resultKey: key } as AcceptedTrainResult['reply'],
    meta: full as unknown as AcceptedTrainResult['meta'],
    payloadSha256: header.payloadSha256,
    layout: {
      fmt,
      length: P,
      payloadOffset: header.payloadOffset,
      payloadEnd: header.payloadEnd,
      ...(header.chunks ? { chunks: header.chunks } : {}),
    },
  };
}
