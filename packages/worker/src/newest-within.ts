/**
 * Bound a cache kept in a Map by insertion order (newest last): from the newest, keep each
 * entry whose size still fits in `max` and evict the rest, one that does not fit alone
 * included, without letting it push out older entries that fit. `evict` removes an entry
 * (and whatever hangs on it); by default it is deleted from the map.
 */
export function keepNewestWithin<K, V>(
  map: Map<K, V>,
  size: (value: V) => number,
  max: number,
  evict: (key: K) => void = (key) => map.delete(key),
): void {
  let total = 0;
  for (const [key, value] of [...map.entries()].reverse()) {
    const bytes = size(value);
    if (total + bytes > max) evict(key);
    else total += bytes;
  }
}
