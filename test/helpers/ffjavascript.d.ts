// Minimal typings for the curve arithmetic the proof tests use to re-randomise a proof.
declare module 'ffjavascript' {
  interface Group {
    fromObject(o: bigint[] | bigint[][]): unknown
    toObject(p: unknown): bigint[] | bigint[][]
    toAffine(p: unknown): unknown
    timesFr(p: unknown, s: unknown): unknown
  }
  export function buildBn128(singleThread?: boolean): Promise<{
    G1: Group
    G2: Group
    Fr: { e(v: bigint): unknown; inv(v: unknown): unknown }
    terminate(): Promise<void>
  }>
}
