import { createHash } from 'node:crypto';

/** Hex SHA-256 of bytes, or of a sequence of chunks hashed as if concatenated. */
export function sha256Hex(data: Uint8Array | Iterable<Uint8Array>): string {
  const hash = createHash('sha256');
  if (data instanceof Uint8Array) hash.update(data);
  else for (const chunk of data) hash.update(chunk);
  return hash.digest('hex');
}

/** Incremental SHA-256 for bytes produced in pieces (streamed shard writes, uploads). */
export class Sha256 {
  private readonly hash = createHash('sha256');
  private done = false;

  update(chunk: Uint8Array): this {
    if (this.done) throw new Error('Sha256: update() after digest()');
    this.hash.update(chunk);
    return this;
  }

  /** Hex digest; the hasher cannot be updated afterwards. */
  digest(): string {
    if (this.done) throw new Error('Sha256: digest() called twice');
    this.done = true;
    return this.hash.digest('hex');
  }
}
