// Local typings for the parts of snarkjs 0.7, circom_runtime and circomlibjs that Quloud uses.
declare module 'snarkjs' {
  type MemFile = { type: 'mem'; data?: Uint8Array }
  type Logger = { info(msg: string): void; debug(msg: string): void; warn(msg: string): void; error(msg: string): void }
  export const curves: { getCurveFromName(name: string, singleThread?: boolean): Promise<{ terminate(): Promise<void> }> }
  export const powersOfTau: {
    newAccumulator(curve: unknown, power: number, out: MemFile | string, logger?: Logger): Promise<unknown>
    contribute(input: MemFile | string, out: MemFile | string, name: string, entropy: string, logger?: Logger): Promise<unknown>
    preparePhase2(input: MemFile | string, out: MemFile | string, logger?: Logger): Promise<unknown>
  }
  export const zKey: {
    newZKey(r1cs: MemFile | string, ptau: MemFile | string, out: MemFile | string, logger?: Logger): Promise<unknown>
    contribute(input: MemFile | string, out: MemFile | string, name: string, entropy: string, logger?: Logger): Promise<unknown>
    exportVerificationKey(zkey: MemFile | string, logger?: Logger): Promise<Record<string, unknown>>
  }
  export const groth16: {
    prove(zkey: MemFile | string, wtns: MemFile | string, logger?: Logger, options?: { singleThread?: boolean }): Promise<{ proof: any; publicSignals: string[] }>
    verify(vk: unknown, publicSignals: readonly string[], proof: unknown, logger?: Logger): Promise<boolean>
  }
}
declare module 'circom_runtime' {
  export function WitnessCalculatorBuilder(code: Uint8Array, options?: Record<string, unknown>): Promise<{
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck: boolean): Promise<Uint8Array>
  }>
}
declare module 'circomlibjs' {
  export function buildPoseidon(): Promise<{
    (inputs: readonly bigint[]): Uint8Array
    F: { toObject(v: Uint8Array): bigint }
  }>
}
