// Minimal typings for the curve arithmetic of ffjavascript 0.3 that Quloud uses (verification,
// and re-randomising a proof in the tests).
declare module 'ffjavascript' {
  type Point = Uint8Array
  interface Group {
    F: { n8: number }
    fromObject(o: bigint[] | bigint[][]): Point
    toObject(p: Point): bigint[] | bigint[][]
    toAffine(p: Point): Point
    timesFr(p: Point, s: unknown): Point
    add(a: Point, b: Point): Point
    neg(p: Point): Point
    isValid(p: Point): boolean
    multiExpAffine(points: Uint8Array, scalars: Uint8Array): Promise<Point>
  }
  export interface Curve {
    G1: Group
    G2: Group
    Fr: { n8: number; e(v: bigint): unknown; inv(v: unknown): unknown }
    pairingEq(...pairs: Point[]): Promise<boolean>
    pairing(a: Point, b: Point): Uint8Array
    terminate(): Promise<void>
  }
  export const Scalar: { toRprLE(buff: Uint8Array, offset: number, value: bigint, n8: number): void }
  export function buildBn128(singleThread?: boolean): Promise<Curve>
  export const utils: { stringifyBigInts(o: unknown): unknown }
}
