/**
 * A token bucket for a byte rate: reserve(n, now) takes n bytes from the bucket and says how long
 * the caller must wait before sending them (0 when the bucket had them). The bucket holds at most
 * `burstBytes`; a reservation larger than that simply waits for its share of time. Pure: the
 * caller passes the time and does the waiting.
 */
export class TokenBucket {
  #tokens: number
  #atMs: number | null = null

  constructor(
    private readonly bytesPerSec: number,
    private readonly burstBytes: number = bytesPerSec,
  ) {
    if (!(bytesPerSec > 0) || !(burstBytes > 0)) throw new RangeError('a token bucket needs a positive rate and burst')
    this.#tokens = burstBytes
  }

  reserve(bytes: number, nowMs: number): number {
    if (this.#atMs !== null) this.#tokens = Math.min(this.burstBytes, this.#tokens + ((nowMs - this.#atMs) * this.bytesPerSec) / 1000)
    this.#atMs = nowMs
    this.#tokens -= bytes
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.bytesPerSec)
  }
}
