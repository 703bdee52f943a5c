/** A job that can never succeed however often it is retried (bad shard, bad job): BullMQ should not retry it. */
export class PermanentJobError extends Error {
  readonly permanent = true;
}
